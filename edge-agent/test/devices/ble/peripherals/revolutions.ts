/**
 * Cumulative revolution counters with event times, as CSC and Cycling Power sensors report them: the count
 * and the time of the last completed revolution, both rolling over (counts at their field width, times at
 * 65536 ticks).
 */

export interface RevolutionEvent {
  /** Cumulative revolutions modulo the field width. */
  revolutions: number;
  /** Time of the last revolution in ticks (1/1024 s or 1/2048 s), modulo 65536. */
  eventTime: number;
}

export class RevolutionCounter {
  private simulatedMs: number;
  private position: number;
  private lastEvent: RevolutionEvent;

  /**
   * @param startRevolutions cumulative count at the start
   * @param modulus 2^16 or 2^32, the field width
   * @param startTimeMs simulated clock at the start; near 64 000 ms makes the event time roll over early
   * @param ticksPerSecond 1024 (CSC, CP crank) or 2048 (CP wheel)
   */
  constructor(
    private readonly startRevolutions: number,
    private readonly modulus: number,
    startTimeMs: number,
    private readonly ticksPerSecond = 1024,
  ) {
    this.simulatedMs = startTimeMs;
    this.position = 0;
    this.lastEvent = { revolutions: startRevolutions % modulus, eventTime: this.ticks(startTimeMs) };
  }

  /** Moves the clock by `ms` at `revolutionsPerSecond`; the event is unchanged if no revolution completed. */
  advance(revolutionsPerSecond: number, ms: number): RevolutionEvent {
    const before = this.position;
    this.simulatedMs += ms;
    this.position += Math.max(0, revolutionsPerSecond) * (ms / 1000);
    const completed = Math.floor(this.position);
    if (completed > Math.floor(before)) {
      // The last revolution completed (position - completed) revolutions ago.
      const sinceMs = ((this.position - completed) / revolutionsPerSecond) * 1000;
      this.lastEvent = {
        revolutions: (this.startRevolutions + completed) % this.modulus,
        eventTime: this.ticks(this.simulatedMs - sinceMs),
      };
    }
    return this.lastEvent;
  }

  private ticks(ms: number): number {
    return Math.floor((ms * this.ticksPerSecond) / 1000) % 0x10000;
  }
}
