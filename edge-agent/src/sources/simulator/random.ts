/**
 * Seeded randomness for the simulator. Two flavours, both from the mulberry32 family:
 *
 * - `Mulberry32`: a sequential generator, used once at construction to draw athletes and sensor ids.
 * - `hashUnit` / `smoothNoise`: counter-based, i.e. a pure function of (seed, stream, index). Every value a
 *   sensor reports is derived this way from its sample index, so the output for a time range never depends
 *   on when the simulator started, how the range was split into ticks, or what was generated before.
 */

const GOLDEN_GAMMA = 0x6d2b79f5;
const TWO_POW_32 = 4_294_967_296;

/** mulberry32's output function; also a decent 32-bit integer hash. */
function mulberryMix(state: number): number {
  let t = state | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + GOLDEN_GAMMA) | 0;
    return mulberryMix(this.state) / TWO_POW_32;
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max]. */
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}

/**
 * 32-bit hash of up to three integers. `index` may exceed 2^32 (sample and beat indices count from the Unix
 * epoch), so its high word is mixed in separately.
 */
export function hash32(seed: number, stream: number, index: number): number {
  const low = index >>> 0;
  const high = Math.floor(index / TWO_POW_32) >>> 0;
  let h = mulberryMix((seed ^ Math.imul(high + 1, GOLDEN_GAMMA)) >>> 0);
  h = mulberryMix((h ^ Math.imul(stream + 0x9e3779b9, 0x85ebca6b)) >>> 0);
  return mulberryMix((h + Math.imul(low, GOLDEN_GAMMA) + low) >>> 0);
}

/** Uniform in [0, 1), a pure function of its arguments. */
export function hashUnit(seed: number, stream: number, index: number): number {
  return hash32(seed, stream, index) / TWO_POW_32;
}

/** Uniform in [-1, 1), a pure function of its arguments. */
export function hashSigned(seed: number, stream: number, index: number): number {
  return 2 * hashUnit(seed, stream, index) - 1;
}

/**
 * Smooth noise in [-1, 1]: random knots every `periodMs`, joined by a smoothstep. Sensor noise is mostly
 * slow (an athlete's effort wanders, a GPS fix drifts), which white noise would not look like.
 */
export function smoothNoise(seed: number, stream: number, timeMs: number, periodMs: number): number {
  const position = timeMs / periodMs;
  const knot = Math.floor(position);
  const fraction = position - knot;
  const eased = fraction * fraction * (3 - 2 * fraction);
  const a = hashSigned(seed, stream, knot);
  const b = hashSigned(seed, stream, knot + 1);
  return a + (b - a) * eased;
}
