/**
 * How many readings the store holds apart per agent (readings of an unconfirmed clock, see
 * storage/series/unsynced.ts), kept as plain numbers so that /metrics and the agent list read them without
 * asking the store: they keep answering while the store is slow or down. Re-read from the store whenever
 * something changed it (ingest stored such readings, an operator corrected or discarded a boot).
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registerScraped } from '@pulsebridge/runtime';
import type { UnsyncedReadingsStore } from '../storage/series/unsynced.ts';

/**
 * What ingest asks before it holds more readings of an unconfirmed clock apart: held readings bypass the
 * series store's limit, so the boots and sensors an agent can make the hub keep are limited here.
 */
export interface UnsyncedBootsHeld {
  /**
   * Which sensors of a flagged batch of `boot` may be stored: undefined when the boot would be one more than
   * maxBootsPerAgent; else those already held for the agent and the new ones that fit under
   * maxSensorsPerAgent.
   */
  admit(agent: string, boot: string, sensors: readonly string[]): ReadonlySet<string> | undefined;
}

export interface UnsyncedLimits {
  /** Boots held apart per agent at once (ingest.maxUnsyncedBootsPerAgent). */
  maxBootsPerAgent: number;
  /** Distinct sensors over an agent's held boots (the series store's maxSeriesPerAgent). */
  maxSensorsPerAgent: number;
}

/** What one agent has held apart, as last read, plus what was admitted since. */
interface HeldByAgent {
  boots: Set<string>;
  sensors: Set<string>;
}

export class UnsyncedTally implements UnsyncedBootsHeld {
  private readonly store: Pick<UnsyncedReadingsStore, 'listUnsynced'>;
  private readonly log: Logger;
  private readonly limits: UnsyncedLimits;
  private byAgent = new Map<string, number>();
  /** As last read plus what was admitted since, so a burst of new boots or sensors cannot pass the limits. */
  private held = new Map<string, HeldByAgent>();
  private heldReadings = 0;
  private reading: Promise<void> | undefined;
  /** A change happened while a read was under way: that read may have missed it. */
  private stale = false;

  /** Without limits, a tally that only counts (as the API keeps when the hub gives it none) admits everything. */
  constructor(options: { store: Pick<UnsyncedReadingsStore, 'listUnsynced'>; log: Logger; limits?: UnsyncedLimits }) {
    this.store = options.store;
    this.limits = options.limits ?? { maxBootsPerAgent: Number.POSITIVE_INFINITY, maxSensorsPerAgent: Number.POSITIVE_INFINITY };
    this.log = options.log.child({ ns: 'unsynced' });
  }

  /** Readings held apart, every agent together. */
  get total(): number {
    return this.heldReadings;
  }

  of(agent: string): number {
    return this.byAgent.get(agent) ?? 0;
  }

  admit(agent: string, boot: string, sensors: readonly string[]): ReadonlySet<string> | undefined {
    let held = this.held.get(agent);
    if (!held?.boots.has(boot) && (held?.boots.size ?? 0) >= this.limits.maxBootsPerAgent) return undefined;
    if (!held) {
      held = { boots: new Set(), sensors: new Set() };
      this.held.set(agent, held);
    }
    held.boots.add(boot);
    const admitted = new Set<string>();
    for (const sensor of sensors) {
      if (!held.sensors.has(sensor)) {
        if (held.sensors.size >= this.limits.maxSensorsPerAgent) continue;
        held.sensors.add(sensor);
      }
      admitted.add(sensor);
    }
    return admitted;
  }

  /**
   * Re-reads the counts; resolves after a read that started after this call. Calls during a read share one
   * more read. Never rejects: a failed read keeps the last counts and is logged.
   */
  refresh(): Promise<void> {
    if (this.reading) {
      this.stale = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.stale = false;
        try {
          const byAgent = new Map<string, number>();
          const held = new Map<string, HeldByAgent>();
          for (const boot of await this.store.listUnsynced({})) {
            byAgent.set(boot.agent, (byAgent.get(boot.agent) ?? 0) + boot.readings);
            let ofAgent = held.get(boot.agent);
            if (!ofAgent) {
              ofAgent = { boots: new Set(), sensors: new Set() };
              held.set(boot.agent, ofAgent);
            }
            ofAgent.boots.add(boot.boot);
            for (const sensor of boot.sensors) ofAgent.sensors.add(sensor);
          }
          this.byAgent = byAgent;
          this.held = held;
          this.heldReadings = [...byAgent.values()].reduce((sum, n) => sum + n, 0);
        } catch (err) {
          this.log.warn({ err }, 'could not count the unsynced readings held; the counts shown may be stale');
        }
      } while (this.stale);
    })().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  register(registry: Registry): void {
    registerScraped(registry, [
      {
        name: 'pb_hub_unsynced_readings',
        help: "Readings held apart from the series because their boot's clock was never confirmed, until corrected or discarded",
        kind: 'gauge',
        read: () => this.heldReadings,
      },
    ]);
  }
}
