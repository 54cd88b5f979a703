/**
 * Chooses which pending outbox chunks go into the next readings batch.
 *
 * Two lanes share the in-flight window. The live lane carries the newest contiguous run of young chunks, so
 * a class board sees fresh data even while hours of backlog drain after an outage; the backlog lane carries
 * the oldest contiguous run. While both have work they alternate. Live chunks wait up to a short delay so
 * several small flushes travel as one batch: the codec pays its per-series overhead once per batch, so
 * merging four 250 ms chunks costs far fewer bytes per reading than sending each alone.
 *
 * A batch carries one clock state: either every chunk's times are true (corrected) or every chunk is of the
 * same boot whose true time is still unknown, since the batch's `clockUnsynced` flag and `boot` speak for
 * all its readings. A run therefore ends where the clock state changes, as it ends at a gap.
 */

/** The part of an outbox chunk the planner needs. */
export interface PlannableChunk {
  id: number;
  first: number;
  last: number;
  /** Agent wall clock (ms) when the chunk was committed. */
  createdAt: number;
  bytes: number;
  /**
   * The boot whose wall clock stamped the chunk while that boot's true time is unknown (the chunk would go
   * out flagged `clockUnsynced`); absent when its times are true or can be corrected.
   */
  unsyncedBoot?: string | undefined;
}

/** True when two chunks may share a batch as far as their clocks go. */
const sameClockState = (a: PlannableChunk, b: PlannableChunk): boolean => a.unsyncedBoot === b.unsyncedBoot;

export type Lane = 'live' | 'backlog';

export interface PlanLimits {
  maxBatchReadings: number;
  maxBatchBytes: number;
  /** Chunks younger than this are live data. */
  liveAgeMs: number;
  /** How long a live run may wait for more chunks to merge with. */
  liveBatchDelayMs: number;
}

export interface PlanInput<C extends PlannableChunk> {
  /** Sendable chunks, oldest first. */
  oldest: readonly C[];
  /** Sendable chunks, newest first (may be the same chunks as `oldest`, reversed). */
  newest: readonly C[];
  now: number;
  /** The lane of the previous batch, so lanes alternate. */
  lastLane: Lane | undefined;
  /** False when only the slot kept free for live data is left. */
  backlogSlotFree: boolean;
}

export type Plan<C extends PlannableChunk> = { kind: 'send'; lane: Lane; chunks: C[] } | { kind: 'wait'; ms: number } | { kind: 'idle' };

const readingsOf = (c: PlannableChunk): number => c.last - c.first + 1;

interface Run<C> {
  chunks: C[];
  /** Stopped because the next contiguous chunk would exceed a limit, not because the run ended. */
  full: boolean;
}

/**
 * Takes chunks while their sequence ranges touch, their clock state is the first's and the batch stays within
 * limits. Always takes the first.
 */
function takeRun<C extends PlannableChunk>(list: readonly C[], direction: 'ascending' | 'descending', limits: PlanLimits, accept: (c: C) => boolean): Run<C> {
  const chunks: C[] = [];
  let readings = 0;
  let bytes = 0;
  let previous: C | undefined;
  for (const chunk of list) {
    if (!accept(chunk)) break;
    if (previous) {
      const touches = direction === 'ascending' ? chunk.first === previous.last + 1 : chunk.last + 1 === previous.first;
      if (!touches || !sameClockState(chunk, previous)) break;
      if (readings + readingsOf(chunk) > limits.maxBatchReadings || bytes + chunk.bytes > limits.maxBatchBytes) return { chunks, full: true };
    }
    chunks.push(chunk);
    readings += readingsOf(chunk);
    bytes += chunk.bytes;
    previous = chunk;
  }
  return { chunks, full: false };
}

export function planBatch<C extends PlannableChunk>(input: PlanInput<C>, limits: PlanLimits): Plan<C> {
  const oldestChunk = input.oldest[0];
  if (!oldestChunk) return { kind: 'idle' };
  // A clock set backwards gives negative ages: such chunks are not treated as live, or they would wait forever.
  const ageOf = (c: C): number => input.now - c.createdAt;
  const isLive = (c: C): boolean => {
    const age = ageOf(c);
    return age >= 0 && age < limits.liveAgeMs;
  };

  const liveRun = takeRun(input.newest, 'descending', limits, isLive);
  liveRun.chunks.reverse();
  const liveFirst = liveRun.chunks[0];
  if (!liveFirst) {
    // Nothing live to protect, so the backlog may use every slot.
    return { kind: 'send', lane: 'backlog', chunks: takeRun(input.oldest, 'ascending', limits, () => true).chunks };
  }

  const liveAge = ageOf(liveFirst);
  const liveReady = liveRun.full || liveAge >= limits.liveBatchDelayMs;
  const liveWaitMs = Math.max(1, limits.liveBatchDelayMs - liveAge);
  const backlogExists = liveFirst.id !== oldestChunk.id;

  if (!backlogExists) return liveReady ? { kind: 'send', lane: 'live', chunks: liveRun.chunks } : { kind: 'wait', ms: liveWaitMs };

  if (liveReady && (input.lastLane !== 'live' || !input.backlogSlotFree)) return { kind: 'send', lane: 'live', chunks: liveRun.chunks };
  if (input.backlogSlotFree) return { kind: 'send', lane: 'backlog', chunks: takeRun(input.oldest, 'ascending', limits, () => true).chunks };
  return { kind: 'wait', ms: liveWaitMs };
}
