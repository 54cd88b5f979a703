/**
 * Rates from cumulative revolution counters and event times, as CSC and Cycling Power send them. Both
 * counters wrap; a counter that jumps by an impossible amount was reset (reconnect, battery change) and
 * starts a new baseline instead of producing a spike.
 */

export interface RevolutionCounter {
  /** Counter modulus: 2^32 for CSC/CP wheel revolutions, 65536 for crank revolutions. */
  revModulus: number;
  /** Event times are uint16 ticks, wrapping at 65536. */
  ticksPerSecond: number;
  /** Anything faster is a reset, not a measurement. */
  maxRevsPerSecond: number;
}

export interface RevolutionTrack {
  revs: number;
  time: number;
  /** Consecutive notifications that repeated the last event (no new revolution). */
  repeats: number;
}

export type RevolutionStep = { kind: 'baseline' } | { kind: 'rate'; revsPerSecond: number; revs: number } | { kind: 'holding' } | { kind: 'stopped' };

const TIME_MODULUS = 65_536;

/**
 * Sensors repeat the last event while nothing turns. A couple of repeats is normal between slow
 * revolutions; after more than this the wheel or crank has stopped (INCY-DEV uses the same count).
 */
export const STOP_AFTER_REPEATS = 2;

function modulo(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}

export function stepRevolutions(counter: RevolutionCounter, previous: RevolutionTrack | undefined, revs: number, time: number): { track: RevolutionTrack; step: RevolutionStep } {
  const fresh = { track: { revs, time, repeats: 0 }, step: { kind: 'baseline' } as const };
  if (previous === undefined) return fresh;
  const ticks = modulo(time - previous.time, TIME_MODULUS);
  const deltaRevs = modulo(revs - previous.revs, counter.revModulus);
  if (ticks === 0) {
    // Revolutions without time passing cannot happen: the counter was reset.
    if (deltaRevs !== 0) return fresh;
    const repeats = previous.repeats + 1;
    return { track: { ...previous, repeats }, step: { kind: repeats > STOP_AFTER_REPEATS ? 'stopped' : 'holding' } };
  }
  const revsPerSecond = deltaRevs / (ticks / counter.ticksPerSecond);
  if (revsPerSecond > counter.maxRevsPerSecond) return fresh;
  return { track: { revs, time, repeats: 0 }, step: { kind: 'rate', revsPerSecond, revs: deltaRevs } };
}
