/**
 * Seeded randomness for the simulated sensors, so a scenario produces the same bytes every run.
 */

/** mulberry32: small, fast, and good enough for test signals. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  integer(min: number, maxInclusive: number): number {
    return Math.floor(this.between(min, maxInclusive + 1));
  }

  /** Standard normal (Box-Muller). */
  gaussian(): number {
    const u = Math.max(this.next(), Number.EPSILON);
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.integer(0, 255);
    return out;
  }

  /** An independent stream derived from this one, so adding one consumer does not shift the others. */
  fork(): SeededRandom {
    return new SeededRandom(this.integer(1, 0xfffffffe));
  }
}

/**
 * A value that wanders around a target like a physiological signal: mean-reverting noise (an
 * Ornstein-Uhlenbeck step per sample), clamped to a plausible range.
 */
export class Wander {
  private current: number;

  constructor(
    private readonly random: SeededRandom,
    private target: number,
    private readonly options: { min: number; max: number; pull: number; noise: number },
  ) {
    this.current = target;
  }

  get value(): number {
    return this.current;
  }

  retarget(target: number): void {
    this.target = target;
  }

  step(): number {
    const { min, max, pull, noise } = this.options;
    this.current += (this.target - this.current) * pull + this.random.gaussian() * noise;
    this.current = Math.max(min, Math.min(max, this.current));
    return this.current;
  }
}
