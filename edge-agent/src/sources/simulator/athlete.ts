/**
 * Simulated athletes: a profile drawn from the seed, and the physiology that turns their workout into heart
 * rate and heartbeats.
 *
 * Heart rate follows effort through a first-order lag, faster up than down. Because the workout repeats with
 * a fixed period, the response is computed once per athlete over one session (1 s steps, starting from the
 * periodic steady state) and looked up afterwards: heart rate and beat times are then pure functions of
 * wall time, cheap to evaluate for any range.
 */
import { hash32, hashSigned, Mulberry32 } from './random.ts';
import { ENDURANCE_RUN, INTERVAL_CLASS, planIntensity, type WorkoutPlan } from './workout.ts';

export type EquipmentKind = 'bike' | 'treadmill' | 'rower' | 'outdoor';

export interface AthleteProfile {
  readonly index: number;
  readonly label: string;
  /** null: the athlete only wears a heart-rate strap. */
  readonly equipment: EquipmentKind | null;
  readonly age: number;
  readonly weightKg: number;
  readonly restHr: number;
  readonly maxHr: number;
  /** Cycling functional threshold power. */
  readonly ftpW: number;
  /** Rowing threshold power (rowers deliver less than cyclists at the same effort). */
  readonly rowThresholdW: number;
  /** Running speed at threshold. */
  readonly thresholdSpeed: number;
  /** Heart-rate time constants, seconds. */
  readonly tauUpS: number;
  readonly tauDownS: number;
  /** Beat-to-beat variability at rest (about the rMSSD), shrinking as effort rises. */
  readonly hrvMs: number;
  readonly breathPeriodMs: number;
  /** How late the athlete started the session relative to the class. */
  readonly offsetMs: number;
  /** How hard the athlete works relative to the plan. */
  readonly effortScale: number;
  /** Outdoor athletes run the park loop in either direction. */
  readonly clockwise: boolean;
}

const ATHLETE_STREAM = 0x41544c;
const BEAT_JITTER_STREAM = 0x42454154;
const MAX_BEAT_JITTER_MS = 60;

export function drawProfile(seed: number, index: number, equipment: EquipmentKind | null): AthleteProfile {
  // One generator per athlete: athlete i is the same person whatever the number of athletes.
  const random = new Mulberry32(hash32(seed, ATHLETE_STREAM, index));
  const fitness = random.next();
  const age = random.integer(20, 60);
  const weightKg = Math.round(random.between(52, 98));
  const maxHr = Math.round(208 - 0.7 * age + random.between(-6, 6));
  const restHr = Math.round(72 - 24 * fitness + random.between(-4, 4));
  const ftpW = Math.round(weightKg * (2 + 2.5 * fitness + random.between(-0.2, 0.2)));
  const thresholdSpeed = 2.6 + 1.9 * fitness + random.between(-0.15, 0.15);
  const tauUpS = Math.min(40, Math.max(20, 40 - 18 * fitness + random.between(-2, 2)));
  return {
    index,
    label: `athlete ${String(index + 1).padStart(2, '0')}`,
    equipment,
    age,
    weightKg,
    restHr,
    maxHr,
    ftpW,
    rowThresholdW: Math.round(ftpW * 0.85),
    thresholdSpeed,
    tauUpS,
    tauDownS: tauUpS * random.between(1.6, 2.2),
    hrvMs: 20 + 50 * fitness,
    breathPeriodMs: random.between(3_500, 5_000),
    offsetMs: random.integer(0, 120_000),
    effortScale: random.between(0.92, 1.08),
    clockwise: random.next() < 0.5,
  };
}

/** Share of the heart-rate reserve a steady effort settles at. */
function reserveFraction(intensity: number): number {
  return Math.min(0.97, Math.max(0.1, 0.2 + 0.68 * intensity));
}

export class SimulatedAthlete {
  readonly profile: AthleteProfile;
  readonly plan: WorkoutPlan;
  readonly sessionMs: number;
  private readonly seed: number;
  /** Heart rate at the start of each second of the session, plus one entry closing the last second. */
  private hr: Float32Array | undefined;
  /** Heartbeats since the session started, at the start of each second. */
  private phase: Float64Array | undefined;
  private beatsPerSession = 0;

  constructor(seed: number, profile: AthleteProfile) {
    this.seed = seed;
    this.profile = profile;
    this.plan = profile.equipment === 'outdoor' ? ENDURANCE_RUN : INTERVAL_CLASS;
    this.sessionMs = this.plan.seconds * 1000;
  }

  /** Intensity the athlete works at, a second of the session. */
  intensity(sessionSecond: number): number {
    return planIntensity(this.plan, sessionSecond) * this.profile.effortScale;
  }

  /** Which of the athlete's back-to-back sessions a wall time falls in; session 0 starts at the epoch plus the athlete's offset. */
  session(timeMs: number): number {
    return Math.floor((timeMs - this.profile.offsetMs) / this.sessionMs);
  }

  /** Milliseconds since the start of the session a wall time falls in. */
  sessionMsAt(timeMs: number): number {
    const sinceStart = timeMs - this.profile.offsetMs;
    return sinceStart - Math.floor(sinceStart / this.sessionMs) * this.sessionMs;
  }

  /** Smooth (noise-free) heart rate at a wall time. */
  heartRate(timeMs: number): number {
    const hr = this.hrTable();
    const second = this.sessionMsAt(timeMs) / 1000;
    const i = Math.floor(second);
    const a = hr[i]!;
    return a + (hr[i + 1]! - a) * (second - i);
  }

  /** Fraction of the heart-rate reserve in use, 0 at rest, 1 at max. */
  reserveUsed(heartRate: number): number {
    return (heartRate - this.profile.restHr) / (this.profile.maxHr - this.profile.restHr);
  }

  /** Time of heartbeat n (counted from the epoch of the athlete's first session), whole ms, HRV included. */
  beatTime(n: number): number {
    const ideal = this.idealBeatTime(n);
    const { profile } = this;
    const calm = Math.max(0, 1 - this.reserveUsed(this.heartRate(ideal)));
    const scale = profile.hrvMs * calm * calm;
    // Respiratory sinus arrhythmia (beats come faster breathing in) plus beat-to-beat scatter.
    const breathing = 0.9 * scale * Math.sin((2 * Math.PI * ideal) / profile.breathPeriodMs);
    const scatter = 0.5 * scale * hashSigned(this.seed, BEAT_JITTER_STREAM + profile.index, n);
    const jitter = Math.max(-MAX_BEAT_JITTER_MS, Math.min(MAX_BEAT_JITTER_MS, breathing + scatter));
    return Math.round(ideal + jitter);
  }

  /** Index of the first heartbeat whose time is at or after timeMs. */
  firstBeatFrom(timeMs: number): number {
    let n = Math.floor(this.beatsBefore(timeMs - 2 * MAX_BEAT_JITTER_MS - 1));
    while (this.beatTime(n) < timeMs) n++;
    while (this.beatTime(n - 1) >= timeMs) n--;
    return n;
  }

  /** Ideal (variability-free) beats elapsed since the epoch of the athlete's first session; fractional. */
  private beatsBefore(timeMs: number): number {
    const phase = this.phaseTable();
    const session = this.session(timeMs);
    const second = (timeMs - this.profile.offsetMs - session * this.sessionMs) / 1000;
    const i = Math.floor(second);
    const a = phase[i]!;
    return session * this.beatsPerSession + a + (phase[i + 1]! - a) * (second - i);
  }

  private idealBeatTime(n: number): number {
    const phase = this.phaseTable();
    const session = Math.floor(n / this.beatsPerSession);
    const target = n - session * this.beatsPerSession;
    // Largest i with phase[i] <= target.
    let lo = 0;
    let hi = this.plan.seconds;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (phase[mid]! <= target) lo = mid;
      else hi = mid;
    }
    const a = phase[lo]!;
    const second = lo + (target - a) / (phase[lo + 1]! - a);
    return this.profile.offsetMs + session * this.sessionMs + second * 1000;
  }

  private hrTable(): Float32Array {
    return this.hr ?? this.buildTables().hr;
  }

  private phaseTable(): Float64Array {
    return this.phase ?? this.buildTables().phase;
  }

  /** Built on first use: construction stays cheap, and athletes never sampled cost nothing. */
  private buildTables(): { hr: Float32Array; phase: Float64Array } {
    const { profile } = this;
    const seconds = this.plan.seconds;
    const upStep = 1 - Math.exp(-1 / profile.tauUpS);
    const downStep = 1 - Math.exp(-1 / profile.tauDownS);
    const reserve = profile.maxHr - profile.restHr;
    const hr = new Float32Array(seconds + 1);
    let current = profile.restHr + reserve * reserveFraction(this.intensity(0));
    // The first pass only finds the heart rate the previous session ended with.
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < seconds; i++) {
        hr[i] = current;
        const target = profile.restHr + reserve * reserveFraction(this.intensity(i));
        current += (target - current) * (target > current ? upStep : downStep);
      }
      hr[seconds] = current;
    }
    const phase = new Float64Array(seconds + 1);
    for (let i = 0; i < seconds; i++) phase[i + 1] = phase[i]! + (hr[i]! + hr[i + 1]!) / 120;
    this.hr = hr;
    this.phase = phase;
    this.beatsPerSession = phase[seconds]!;
    return { hr, phase };
  }
}

/** Running total of a per-second rate over one session: distance from speed. */
export function cumulative(seconds: number, ratePerSecond: (second: number) => number): Float64Array {
  const total = new Float64Array(seconds + 1);
  for (let i = 0; i < seconds; i++) total[i + 1] = total[i]! + ratePerSecond(i);
  return total;
}
