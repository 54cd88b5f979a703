/**
 * The agent's time base.
 *
 * A Raspberry Pi has no real-time clock: it may boot with a wrong wall clock, have it stepped later (NTP),
 * or never learn the time while offline. Readings are stamped with the wall clock as it is, and every
 * reading is kept together with the clock *epoch* it was stamped in: a stretch of one boot during which
 * `wall − monotonic` stays constant. The monotonic clock (CLOCK_MONOTONIC) never steps and is shared by
 * every process of a boot, so once the true offset `trueMinusMono` of a boot is known, every epoch of that
 * boot can be corrected by `trueMinusMono − wallMinusMono`, even readings stored before an agent restart.
 *
 * True time comes from the hub (the answer to a status message, halfway through the round trip) or from a
 * jump of the wall clock, which is taken as the clock being set right (NTP). The hub's word wins over a jump.
 *
 * A boot is named by the kernel's boot id, or where there is none by an id the agent keeps for the boot
 * (boot-id.ts), so that readings stored before an agent restart stay tied to their boot.
 *
 * The clock keeps its state in memory; a `ClockStore` (the outbox implements it, since readings and the
 * epochs they refer to must live and die in the same file) persists epochs and offsets.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { BootIdentity } from './boot-id.ts';

/** One stretch of a boot with a constant wall − monotonic offset. */
export interface ClockEpoch {
  readonly boot: string;
  /**
   * Monotonic ms at which the epoch began. Monotonic time only grows within a boot, so this names the
   * epoch uniquely within it, across agent restarts too.
   */
  readonly id: number;
  /** wall − monotonic during the epoch, ms. */
  readonly wallMinusMono: number;
}

/** Where a boot's true time came from. */
export type TrueTimeSource = 'hub' | 'jump';

export interface TrueOffset {
  /** true UTC ms − monotonic ms for the boot. */
  readonly trueMinusMono: number;
  readonly source: TrueTimeSource;
}

export interface StoredBoot {
  /** Oldest first. */
  epochs: ClockEpoch[];
  offset: TrueOffset | undefined;
}

/** Persistence for the clock's state; implemented by the outbox. Methods may throw: the clock logs and carries on. */
export interface ClockStore {
  loadBoot(boot: string): StoredBoot;
  /** Insert if not yet stored; an epoch never changes once created. */
  saveEpoch(epoch: ClockEpoch): void;
  saveOffset(boot: string, offset: TrueOffset): void;
}

export interface ClockJump {
  fromEpoch: number;
  toEpoch: number;
  /** How far the wall clock moved relative to monotonic time (positive: forward). */
  deltaMs: number;
}

export interface ClockSynced {
  /** What readings of the current epoch get added to their stamps; 0 when the wall clock was found right. */
  correctionMs: number;
  rttMs: number;
}

export type ClockEvents = {
  jump: [ClockJump];
  synced: [ClockSynced];
};

export interface ClockStatus {
  bootId: string;
  epoch: number;
  synced: boolean;
  source: TrueTimeSource | null;
  /** Correction for readings stamped now; null while true time is unknown. */
  correctionMs: number | null;
  jumps: number;
  lastSyncRttMs: number | null;
}

export interface ClockOptions {
  log: Logger;
  /** A change of wall − monotonic larger than this starts a new epoch. */
  jumpThresholdMs?: number;
  /** A hub answer that took longer than this says too little about the time to be used. */
  maxSyncRttMs?: number;
  /** How often to look for a jump when nobody asks for the time. */
  checkIntervalMs?: number;
  wall?: () => number;
  mono?: () => number;
  /** The boot id to use, as is (tests); by default the kernel's, or one kept in `bootIdFile` (see boot-id.ts). */
  bootId?: string;
  /** Where the agent keeps the id it generated for this boot when the kernel gives none. */
  bootIdFile?: string | undefined;
  /** The kernel's boot id, undefined where there is none (injected by tests). */
  readKernelBootId?: (() => string | undefined) | undefined;
}

const DEFAULT_JUMP_THRESHOLD_MS = 1_000;
const DEFAULT_MAX_SYNC_RTT_MS = 10_000;
const DEFAULT_CHECK_INTERVAL_MS = 1_000;
/**
 * How often a generated boot id's record notes that the boot still runs: a restart after a reboot is told
 * apart by a monotonic time below the last one noted, so the later the note, the surer. One small file
 * write per interval.
 */
const BOOT_RECORD_INTERVAL_MS = 10 * 60_000;

const monotonicMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

export class Clock extends EventEmitter<ClockEvents> {
  private readonly log: Logger;
  private readonly threshold: number;
  private readonly maxSyncRtt: number;
  private readonly checkInterval: number;
  private readonly readWall: () => number;
  private readonly readMono: () => number;
  private readonly bootIdOption: string | undefined;
  private readonly bootIdFile: string | undefined;
  private readonly readKernelBootId: (() => string | undefined) | undefined;
  private bootIdentity: BootIdentity | undefined;
  private knownBootId: string | undefined;
  private currentEpoch: ClockEpoch | undefined;
  private trueOffset: TrueOffset | undefined;
  private store: ClockStore | undefined;
  private timer: NodeJS.Timeout | undefined;
  private jumps = 0;
  private lastSyncRtt: number | null = null;

  constructor(options: ClockOptions) {
    super();
    this.log = options.log.child({ ns: 'clock' });
    this.threshold = options.jumpThresholdMs ?? DEFAULT_JUMP_THRESHOLD_MS;
    this.maxSyncRtt = options.maxSyncRttMs ?? DEFAULT_MAX_SYNC_RTT_MS;
    this.checkInterval = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    this.readWall = options.wall ?? Date.now;
    this.readMono = options.mono ?? monotonicMs;
    this.bootIdOption = options.bootId;
    this.bootIdFile = options.bootIdFile;
    this.readKernelBootId = options.readKernelBootId;
  }

  get bootId(): string {
    if (this.knownBootId === undefined) {
      if (this.bootIdOption === undefined) {
        this.bootIdentity = new BootIdentity({
          log: this.log,
          wall: this.readWall,
          mono: this.readMono,
          toleranceMs: this.threshold,
          file: this.bootIdFile,
          readKernelBootId: this.readKernelBootId,
        });
      }
      this.knownBootId = this.bootIdOption ?? this.bootIdentity!.id;
    }
    return this.knownBootId;
  }

  /** The epoch readings stamped now belong to. */
  get epoch(): ClockEpoch {
    this.currentEpoch ??= { boot: this.bootId, id: Math.round(this.readMono()), wallMinusMono: Math.round(this.readWall() - this.readMono()) };
    return this.currentEpoch;
  }

  /** True once this boot's true time is known (from the hub or a clock jump). */
  get synced(): boolean {
    return this.trueOffset !== undefined;
  }

  get offset(): TrueOffset | undefined {
    return this.trueOffset;
  }

  start(): void {
    if (this.timer) return;
    this.check();
    this.timer = setInterval(() => this.check(), this.checkInterval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.bootIdentity?.record(this.epoch.wallMinusMono);
  }

  /** Wall-clock UTC ms to stamp a reading with (uncorrected; the outbox corrects it when sending). */
  now(): number {
    const mono = this.readMono();
    const wall = this.readWall();
    this.observe(wall, mono);
    return wall;
  }

  mono(): number {
    return this.readMono();
  }

  /** Looks for a jump of the wall clock now. */
  check(): void {
    this.now();
    this.bootIdentity?.recordEvery(BOOT_RECORD_INTERVAL_MS, this.epoch.wallMinusMono);
  }

  /**
   * What to add to a stamp taken in `epoch` to get true time; undefined while unknown. Only answers for the
   * current boot: other boots' offsets live in the store.
   */
  correctionFor(epoch: Pick<ClockEpoch, 'boot' | 'wallMinusMono'>): number | undefined {
    if (!this.trueOffset || epoch.boot !== this.bootId) return undefined;
    return this.trueOffset.trueMinusMono - epoch.wallMinusMono;
  }

  /**
   * The hub answered a status message sent at monotonic `echoMono` with its own time `hubTime`. True time at
   * receipt is about hubTime + rtt/2, give or take rtt/2.
   */
  syncFromHub(hubTime: number, echoMono: number): void {
    if (!Number.isFinite(hubTime) || !Number.isFinite(echoMono)) {
      this.log.warn({ hubTime, echoMono }, 'ignored a time answer that is not a number');
      return;
    }
    const mono = this.readMono();
    this.observe(this.readWall(), mono);
    const rtt = mono - echoMono;
    if (rtt < 0) {
      // Monotonic time of another boot (a stale answer to a status sent before a reboot).
      this.log.warn({ echoMono, mono }, 'ignored a time answer to a status this boot did not send');
      return;
    }
    if (rtt > this.maxSyncRtt) {
      this.log.warn({ rttMs: rtt, maxRttMs: this.maxSyncRtt }, 'ignored a time answer that took too long to be precise');
      return;
    }
    const current = this.epoch;
    const measured = Math.round(hubTime + rtt / 2 - mono);
    const delta = measured - current.wallMinusMono;
    const tolerance = Math.max(this.threshold, rtt);
    // Within the measurement's own uncertainty the wall clock is right: keep its stamps as they are.
    const clockIsRight = Math.abs(delta) <= tolerance;
    const previous = this.trueOffset;
    // Likewise an earlier answer that this one agrees with stands: every status is answered, and a few ms of
    // round-trip noise must not re-correct readings each time nor warn about the same offset again.
    const agreesWithPrevious = previous?.source === 'hub' && Math.abs(measured - previous.trueMinusMono) <= tolerance;
    const trueMinusMono = clockIsRight ? current.wallMinusMono : agreesWithPrevious ? previous.trueMinusMono : measured;
    const correctionMs = trueMinusMono - current.wallMinusMono;
    this.lastSyncRtt = rtt;
    this.trueOffset = { trueMinusMono, source: 'hub' };
    if (previous?.trueMinusMono !== trueMinusMono || previous.source !== 'hub') {
      this.persist((store) => store.saveOffset(current.boot, this.trueOffset!));
      if (clockIsRight) this.log.info({ deltaMs: delta, rttMs: rtt }, 'wall clock confirmed by the hub');
      else this.log.warn({ correctionMs, rttMs: rtt }, 'wall clock is off: readings will be corrected by the hub time');
    }
    this.emitSafely('synced', { correctionMs, rttMs: rtt });
  }

  /** Loads what the store knows about this boot and persists what is only in memory. */
  attach(store: ClockStore): void {
    this.store = store;
    const current = this.epoch;
    let stored: StoredBoot;
    try {
      stored = store.loadBoot(current.boot);
    } catch (err) {
      this.log.error({ err }, 'could not load the clock state');
      return;
    }
    // A jump never overrides the hub; otherwise what this process learned is newer than what is stored.
    if (stored.offset && (!this.trueOffset || (this.trueOffset.source === 'jump' && stored.offset.source === 'hub'))) {
      this.trueOffset = stored.offset;
    }
    const last = stored.epochs.at(-1);
    if (last) {
      if (last.id >= current.id) {
        // Monotonic time did not advance past a stored epoch, so the boot id is shared with another boot.
        this.log.warn({ boot: current.boot, stored: last.id, mono: current.id }, 'boot id reused with a reset monotonic clock');
        this.currentEpoch = { ...current, id: last.id + 1 };
      } else if (Math.abs(current.wallMinusMono - last.wallMinusMono) > this.threshold) {
        // The clock was set while the agent was not running.
        this.jumped(last, current, current.wallMinusMono - last.wallMinusMono);
      } else {
        this.currentEpoch = last;
      }
    }
    const epoch = this.currentEpoch!;
    this.persist((s) => s.saveEpoch(epoch));
    const offset = this.trueOffset;
    if (offset && offset !== stored.offset) this.persist((s) => s.saveOffset(epoch.boot, offset));
  }

  detach(store: ClockStore): void {
    if (this.store === store) this.store = undefined;
  }

  status(): ClockStatus {
    const epoch = this.epoch;
    return {
      bootId: epoch.boot,
      epoch: epoch.id,
      synced: this.synced,
      source: this.trueOffset?.source ?? null,
      correctionMs: this.correctionFor(epoch) ?? null,
      jumps: this.jumps,
      lastSyncRttMs: this.lastSyncRtt,
    };
  }

  private observe(wall: number, mono: number): void {
    const current = this.epoch;
    const wallMinusMono = Math.round(wall - mono);
    const delta = wallMinusMono - current.wallMinusMono;
    if (Math.abs(delta) <= this.threshold) return;
    const next: ClockEpoch = { boot: current.boot, id: Math.max(Math.round(mono), current.id + 1), wallMinusMono };
    this.currentEpoch = next;
    this.persist((store) => store.saveEpoch(next));
    this.bootIdentity?.record(wallMinusMono);
    this.jumped(current, next, delta);
  }

  private jumped(from: ClockEpoch, to: ClockEpoch, deltaMs: number): void {
    this.jumps++;
    if (this.trueOffset?.source !== 'hub') {
      const offset: TrueOffset = { trueMinusMono: to.wallMinusMono, source: 'jump' };
      this.trueOffset = offset;
      this.persist((store) => store.saveOffset(to.boot, offset));
    }
    this.log.warn({ fromEpoch: from.id, toEpoch: to.id, deltaMs }, 'wall clock jumped: new clock epoch');
    this.emitSafely('jump', { fromEpoch: from.id, toEpoch: to.id, deltaMs });
  }

  private persist(write: (store: ClockStore) => void): void {
    if (!this.store) return;
    try {
      write(this.store);
    } catch (err) {
      this.log.error({ err }, 'could not persist the clock state');
    }
  }

  private emitSafely<K extends keyof ClockEvents>(event: K, ...args: ClockEvents[K]): void {
    // Listeners run inside now(), which sources call while stamping: a failing listener must not reach them.
    try {
      (this.emit as (event: K, ...args: ClockEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'clock event listener failed');
    }
  }
}
