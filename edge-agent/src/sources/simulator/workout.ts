/**
 * Workouts the simulated athletes follow. Intensity is a fraction of the athlete's threshold (FTP on a bike
 * or rower, threshold pace when running), so one plan drives every kind of equipment.
 *
 * A plan repeats back to back (a gym running one class after the other); every repetition is one session.
 */

export interface WorkoutSegment {
  readonly name: string;
  readonly seconds: number;
  /** Intensity at the start and at the end of the segment; linear in between. */
  readonly from: number;
  readonly to: number;
  /** Treadmill grade in %, for athletes on a treadmill. */
  readonly incline: number;
}

export interface WorkoutPlan {
  readonly name: string;
  readonly seconds: number;
  readonly segments: readonly WorkoutSegment[];
  /** Intensity during each whole second of the plan; ramps are sampled at the middle of the second. */
  readonly intensityBySecond: Float32Array;
  readonly inclineBySecond: Float32Array;
}

function steady(name: string, seconds: number, intensity: number, incline = 1): WorkoutSegment {
  return { name, seconds, from: intensity, to: intensity, incline };
}

function ramp(name: string, seconds: number, from: number, to: number, incline = 1): WorkoutSegment {
  return { name, seconds, from, to, incline };
}

function intervals(count: number, work: WorkoutSegment, rest: WorkoutSegment): WorkoutSegment[] {
  const out: WorkoutSegment[] = [];
  for (let i = 0; i < count; i++) out.push(work, rest);
  return out;
}

export function buildPlan(name: string, segments: readonly WorkoutSegment[]): WorkoutPlan {
  const seconds = segments.reduce((sum, s) => sum + s.seconds, 0);
  const intensityBySecond = new Float32Array(seconds);
  const inclineBySecond = new Float32Array(seconds);
  let second = 0;
  for (const segment of segments) {
    for (let i = 0; i < segment.seconds; i++, second++) {
      const progress = (i + 0.5) / segment.seconds;
      intensityBySecond[second] = segment.from + (segment.to - segment.from) * progress;
      inclineBySecond[second] = segment.incline;
    }
  }
  return { name, seconds, segments, intensityBySecond, inclineBySecond };
}

/** A 53-minute indoor interval class: the default for athletes on bikes, treadmills and rowers. */
export const INTERVAL_CLASS = buildPlan('interval class', [
  ramp('warm-up', 300, 0.4, 0.65),
  steady('build', 120, 0.7),
  ...intervals(6, steady('interval', 120, 1.05, 2), steady('recovery', 60, 0.5)),
  steady('recovery', 180, 0.55),
  ...intervals(2, steady('tempo', 240, 0.9, 4), steady('recovery', 120, 0.6)),
  ...intervals(4, steady('sprint', 30, 1.3, 0), steady('recovery', 90, 0.5)),
  ramp('cool-down', 300, 0.6, 0.35, 0),
]);

/** A 57-minute outdoor run with pick-ups: outdoor athletes train on their own, not with the class. */
export const ENDURANCE_RUN = buildPlan('endurance run', [
  ramp('warm-up', 600, 0.5, 0.72),
  steady('steady', 1_800, 0.78),
  ...intervals(4, steady('pick-up', 60, 0.95), steady('float', 120, 0.7)),
  ramp('cool-down', 300, 0.7, 0.45),
]);

/** Intensity at a position (seconds from the start of the session, within [0, plan.seconds)). */
export function planIntensity(plan: WorkoutPlan, second: number): number {
  return plan.intensityBySecond[Math.min(plan.seconds - 1, Math.max(0, Math.floor(second)))]!;
}

export function planIncline(plan: WorkoutPlan, second: number): number {
  return plan.inclineBySecond[Math.min(plan.seconds - 1, Math.max(0, Math.floor(second)))]!;
}
