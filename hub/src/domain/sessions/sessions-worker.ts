/**
 * What keeps sessions moving without anyone asking:
 *   - the schedule: runs of occurrences that have begun start by themselves (from their scheduled start), runs
 *     past their scheduled end end, and personal sessions nobody stopped end after MAX_PERSONAL_SESSION_MS;
 *   - late readings: readings this hub stored for a sensor at a time inside a completed session's interval
 *     (an agent's backlog after an outage) mark the session stale, and stale sessions are computed again.
 *
 * Every step is safe on several replicas at once: runs are keyed by occurrence, state changes are guarded
 * updates, and a stale session is taken by a lease that a replica dying mid-way leaves to expire.
 */
import type { Registry } from 'prom-client';
import { errorMessage, registerScraped } from '@pulsebridge/runtime';
import { pageAfter } from '../../documents/document-store.ts';
import type { LiveReadings } from '../../live/live-bus.ts';
import { CLASSES } from '../classes/collections.ts';
import { listOccurrences, type ClassDoc } from '../classes/occurrences.ts';
import { gymSettings } from '../gyms.ts';
import { CLASS_RUNS, SESSIONS, SESSION_SENSORS } from './collections.ts';
import { BY_SCHEDULE, MAX_PERSONAL_SESSION_MS, completeSession, endClassRun, recomputeSession, startClassRun, type SessionStores } from './sessions.ts';

export interface SessionsWorkerOptions {
  /** How often late readings are looked for and stale sessions recomputed. */
  lateIntervalMs?: number;
  /** How often the schedule is checked. */
  scheduleIntervalMs?: number;
  /** How long one replica holds a stale session while computing it. */
  leaseMs?: number;
}

/** Runs of an occurrence that began this long ago at most are still started by the schedule (if not over). */
const LOOKBACK_MS = 24 * 3_600_000;
const CLASS_PAGE = 500;
const STALE_PER_ROUND = 50;

interface Span {
  gym: string;
  sensor: string;
  from: number;
  to: number;
}

export class SessionsWorker {
  private readonly stores: SessionStores;
  private readonly lateIntervalMs: number;
  private readonly scheduleIntervalMs: number;
  private readonly leaseMs: number;
  /** Time spans of readings stored since the last round, per gym and sensor. */
  private spans = new Map<string, Span>();
  private timers: NodeJS.Timeout[] = [];
  private lateRound: Promise<void> | undefined;
  private scheduleRound: Promise<void> | undefined;
  private readonly counts = { late_marked: 0, recomputed: 0, recompute_unchanged: 0, runs_started: 0, runs_ended: 0, personal_ended: 0, failures: 0 };

  constructor(stores: SessionStores, options: SessionsWorkerOptions = {}) {
    this.stores = stores;
    this.lateIntervalMs = options.lateIntervalMs ?? 1_000;
    this.scheduleIntervalMs = options.scheduleIntervalMs ?? 15_000;
    this.leaseMs = options.leaseMs ?? 60_000;
  }

  register(metrics: Registry): void {
    registerScraped(metrics, [
      { name: 'pb_hub_sessions_worker_total', help: 'What the sessions worker did, by action', kind: 'counter', label: 'action', read: () => this.counts },
    ]);
  }

  /** The ingest's onStored: notes the time span of each sensor's readings; cheap, on the ingest path. */
  readonly noteStored = (readings: LiveReadings): void => {
    for (const series of readings.series) {
      if (series.ts.length === 0) continue;
      let from = Infinity;
      let to = -Infinity;
      for (const t of series.ts) {
        if (t < from) from = t;
        if (t > to) to = t;
      }
      const key = `${readings.gym}\u0000${series.sensor}`;
      const span = this.spans.get(key);
      if (span === undefined) this.spans.set(key, { gym: readings.gym, sensor: series.sensor, from, to });
      else {
        span.from = Math.min(span.from, from);
        span.to = Math.max(span.to, to);
      }
    }
  };

  start(): void {
    if (this.timers.length > 0) return;
    const every = (ms: number, round: () => void): void => {
      const timer = setInterval(round, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.lateIntervalMs, () => void this.lateReadingsRound());
    every(this.scheduleIntervalMs, () => void this.scheduleRoundOnce());
    void this.scheduleRoundOnce();
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.allSettled([this.lateRound, this.scheduleRound]);
  }

  /** One round of late readings then stale sessions; a round still running is not overlapped. */
  lateReadingsRound(): Promise<void> {
    this.lateRound ??= this.guarded('late readings', async () => {
      await this.markLate();
      await this.recomputeStale();
    }).finally(() => {
      this.lateRound = undefined;
    });
    return this.lateRound;
  }

  scheduleRoundOnce(): Promise<void> {
    this.scheduleRound ??= this.guarded('schedule', async () => {
      await this.startScheduledRuns();
      await this.endOverdue();
    }).finally(() => {
      this.scheduleRound = undefined;
    });
    return this.scheduleRound;
  }

  private async guarded(what: string, round: () => Promise<void>): Promise<void> {
    try {
      await round();
    } catch (error) {
      this.counts.failures++;
      this.stores.log.warn({ err: errorMessage(error) }, `sessions worker: ${what} round failed`);
    }
  }

  /** Marks stale every completed session with an interval the noted spans fall into. */
  private async markLate(): Promise<void> {
    if (this.spans.size === 0) return;
    const spans = [...this.spans.values()];
    this.spans = new Map();
    const sensors = this.stores.documents.collection(SESSION_SENSORS);
    // Readings newer than every completed interval (the usual case: a live class) need no lookup each.
    const latest = (await sensors.find({}, { orderBy: ['until'], descending: true, limit: 1 }))[0]?.until;
    if (latest === undefined) return;
    const sessions = this.stores.documents.collection(SESSIONS);
    for (const span of spans) {
      if (span.from >= latest) continue;
      for (const interval of await sensors.find({ gym: span.gym, sensor: span.sensor, until: { gt: span.from } })) {
        if (interval.from > span.to) continue;
        if ((await sessions.update({ id: interval.session, state: 'completed', stale: false }, { set: { stale: true } })) > 0) this.counts.late_marked++;
      }
    }
  }

  /** Recomputes stale sessions, each taken by a lease; frees the leases of replicas that died holding them. */
  private async recomputeStale(): Promise<void> {
    const sessions = this.stores.documents.collection(SESSIONS);
    const now = this.stores.now();
    for (const abandoned of await sessions.find({ stale: false, leaseUntil: { lt: now } }, { limit: STALE_PER_ROUND })) {
      await sessions.update({ id: abandoned.id, leaseUntil: abandoned.leaseUntil! }, { set: { stale: true }, unset: ['leaseUntil'] });
    }
    for (const stale of await sessions.find({ stale: true }, { limit: STALE_PER_ROUND })) {
      if ((await sessions.update({ id: stale.id, stale: true }, { set: { stale: false, leaseUntil: now + this.leaseMs } })) === 0) continue;
      try {
        if (await recomputeSession(this.stores, stale.id)) this.counts.recomputed++;
        else this.counts.recompute_unchanged++;
        await sessions.update({ id: stale.id }, { unset: ['leaseUntil'] });
      } catch (error) {
        this.counts.failures++;
        this.stores.log.warn({ err: errorMessage(error), session: stale.id }, 'could not recompute a session; it is tried again');
        await sessions.update({ id: stale.id }, { set: { stale: true }, unset: ['leaseUntil'] });
      }
    }
  }

  /** Starts the runs of occurrences under way that have none, from their scheduled start. */
  private async startScheduledRuns(): Promise<void> {
    const now = this.stores.now();
    const classes = this.stores.documents.collection(CLASSES);
    const zones = new Map<string, string>();
    let after: ReturnType<typeof pageAfter> | undefined;
    for (;;) {
      const page: ClassDoc[] = await classes.find({}, { limit: CLASS_PAGE, ...(after ? { after } : {}) });
      for (const cls of page) {
        let zone = zones.get(cls.gym);
        if (zone === undefined) {
          zone = (await gymSettings(this.stores.documents, cls.gym)).timeZone;
          zones.set(cls.gym, zone);
        }
        for (const occurrence of await listOccurrences(this.stores.documents, cls, zone, now - LOOKBACK_MS, now + 1)) {
          if (occurrence.cancelled || occurrence.endsAt <= now || occurrence.startsAt > now) continue;
          if ((await this.stores.documents.collection(CLASS_RUNS).get(occurrence.id)) !== undefined) continue;
          const { created } = await startClassRun(this.stores, { cls, occurrence, by: BY_SCHEDULE, startedAt: occurrence.startsAt });
          if (created) this.counts.runs_started++;
        }
      }
      if (page.length < CLASS_PAGE) break;
      after = pageAfter(page.at(-1)!);
    }
  }

  /** Ends runs past their scheduled end, completes class sessions left live, ends forgotten personal sessions. */
  private async endOverdue(): Promise<void> {
    const now = this.stores.now();
    const { documents } = this.stores;
    for (const run of await documents.collection(CLASS_RUNS).find({ state: 'running', scheduledEnd: { lte: now } })) {
      const cls = await documents.collection(CLASSES).get(run.class);
      if (cls === undefined) continue;
      if ((await endClassRun(this.stores, { run, cls, by: BY_SCHEDULE, endedAt: Math.max(run.startedAt, run.scheduledEnd) })) !== undefined) this.counts.runs_ended++;
    }
    for (const session of await documents.collection(SESSIONS).find({ state: 'live', kind: 'class' })) {
      const run = session.run === undefined ? undefined : await documents.collection(CLASS_RUNS).get(session.run);
      if (run?.state === 'ended' && run.endedAt !== undefined) await completeSession(this.stores, session.id, run.endedAt);
    }
    for (const session of await documents.collection(SESSIONS).find({ state: 'live', kind: 'personal', startedAt: { lte: now - MAX_PERSONAL_SESSION_MS } })) {
      if ((await completeSession(this.stores, session.id, session.startedAt + MAX_PERSONAL_SESSION_MS)) !== undefined) this.counts.personal_ended++;
    }
  }
}
