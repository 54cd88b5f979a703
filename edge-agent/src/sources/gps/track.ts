/**
 * GPS track correction on the edge box: reject impossible fixes, smooth the rest with a Kalman filter on
 * position and velocity in a local east/north plane, and measure distance. Raw fixes are kept alongside
 * the corrected track, so the hub can show both and recompute if the method changes.
 *
 * Why each part:
 * - Consumer receivers at 1 Hz jitter by metres; summing raw segments counts that jitter as distance and a
 *   single multipath jump of 100 m adds 200 m. The filter models the athlete as moving at a slowly
 *   changing velocity (white-acceleration noise), so jitter and jumps are what it discounts.
 * - A fix is rejected when it implies a speed no athlete reaches from the last accepted fix, or when it
 *   falls outside the filter's gate (its innovation is too unlikely given the predicted uncertainty). The
 *   gate widens by itself during a dropout, as the prediction grows uncertain.
 * - If several fixes in a row are rejected, the filter, not the receiver, is probably wrong (it started on a
 *   bad fix, or the athlete got into a car): it restarts from the latest fix.
 * - The east and north axes share the same time steps and the same measurement variance, so they share one
 *   covariance matrix: two 2-state filters for the price of one.
 * - `correctTrack` also runs a Rauch–Tung–Striebel backward pass over the whole track: the smoothed
 *   position at a time uses the fixes after it too, which removes the lag a forward filter has in bends.
 */
import { LocalFrame, haversineM } from './local-frame.ts';

export interface RawFix {
  /** UTC ms. */
  t: number;
  latitude: number;
  longitude: number;
  /** Horizontal dilution of precision, when the receiver reports it (NMEA GGA). */
  hdop?: number;
  /** Horizontal accuracy in metres (1 sigma), when the receiver reports it; wins over hdop. */
  accuracyM?: number;
}

export interface TrackOptions {
  /** Fastest plausible athlete, m/s. 15 m/s covers a sprinting cyclist; a runner's session can use less. */
  maxSpeedMps: number;
  /** Metres of error per unit of HDOP (user equivalent range error). */
  uereM: number;
  /** 1-sigma horizontal error assumed when a fix carries neither accuracy nor hdop. */
  defaultAccuracyM: number;
  /** White-acceleration noise, m/s² (1 sigma): how briskly the athlete's velocity may change. */
  accelerationNoise: number;
  /** Gate on the normalised innovation (chi-square, 2 degrees of freedom); 13.8 keeps 99.9 % of good fixes. */
  gateChiSquare: number;
  /** Consecutive rejections after which the filter restarts from the latest fix. */
  restartAfterRejections: number;
  /** A gap longer than this (no fixes) restarts the filter: the athlete may have stopped or changed route. */
  maxGapS: number;
}

export const DEFAULT_TRACK_OPTIONS: TrackOptions = {
  maxSpeedMps: 15,
  uereM: 3,
  defaultAccuracyM: 5,
  accelerationNoise: 0.7,
  gateChiSquare: 13.8,
  restartAfterRejections: 4,
  maxGapS: 120,
};

export type RejectionReason = 'invalid' | 'not_after_previous' | 'impossible_speed' | 'outside_gate';

export interface CorrectedPoint {
  t: number;
  latitude: number;
  longitude: number;
  /** Speed over ground from the filter's velocity, m/s. */
  speed: number;
  /** Index of the raw fix this point corrects. */
  rawIndex: number;
  /** True for the first point after a filter restart: no distance is counted from the point before. */
  restart: boolean;
}

export interface CorrectedTrack {
  raw: RawFix[];
  corrected: CorrectedPoint[];
  rejected: Array<{ rawIndex: number; reason: RejectionReason }>;
  /** Sum of great-circle segments between consecutive raw fixes, outliers included. */
  rawDistanceM: number;
  /** Sum of great-circle segments of the corrected track, not bridging restarts. */
  correctedDistanceM: number;
}

/** Covariance of one axis [position, velocity], shared by both axes: [pp, pv, vv]. */
type Covariance = [number, number, number];
interface AxisState {
  position: number;
  velocity: number;
}

/** One accepted fix as the forward pass saw it: what the RTS pass needs. */
interface FilterStep {
  t: number;
  rawIndex: number;
  restart: boolean;
  /** Time since the previous step, s (0 on a restart). */
  dt: number;
  predicted: { east: AxisState; north: AxisState; covariance: Covariance };
  filtered: { east: AxisState; north: AxisState; covariance: Covariance };
}

export type FixVerdict = { accepted: true; east: number; north: number; velocityEast: number; velocityNorth: number } | { accepted: false; reason: RejectionReason };

function predict(state: AxisState, dt: number): AxisState {
  return { position: state.position + dt * state.velocity, velocity: state.velocity };
}

function predictCovariance([pp, pv, vv]: Covariance, dt: number, q: number): Covariance {
  return [pp + 2 * dt * pv + dt * dt * vv + (q * dt ** 3) / 3, pv + dt * vv + (q * dt ** 2) / 2, vv + q * dt];
}

/**
 * The forward filter, one fix at a time: usable live on the box (each verdict is final) and as the first
 * half of `correctTrack`. Deterministic and free of I/O.
 */
export class GpsTrackFilter {
  readonly steps: FilterStep[] = [];
  private readonly options: TrackOptions;
  private frame: LocalFrame | undefined;
  private lastAccepted: { t: number; east: number; north: number; sigma: number } | undefined;
  private east: AxisState = { position: 0, velocity: 0 };
  private north: AxisState = { position: 0, velocity: 0 };
  private covariance: Covariance = [0, 0, 0];
  private consecutiveRejections = 0;
  private rawIndex = 0;

  constructor(options: Partial<TrackOptions> = {}) {
    this.options = { ...DEFAULT_TRACK_OPTIONS, ...options };
  }

  get localFrame(): LocalFrame | undefined {
    return this.frame;
  }

  push(fix: RawFix): FixVerdict {
    const rawIndex = this.rawIndex++;
    if (!isValidFix(fix)) return { accepted: false, reason: 'invalid' };
    const sigma = this.sigmaOf(fix);
    this.frame ??= new LocalFrame(fix.latitude, fix.longitude);
    const { east, north } = this.frame.toLocal(fix.latitude, fix.longitude);
    const last = this.lastAccepted;
    if (!last || (fix.t - last.t) / 1000 > this.options.maxGapS) return this.restart(fix, rawIndex, east, north, sigma);
    const dt = (fix.t - last.t) / 1000;
    if (dt <= 0) return { accepted: false, reason: 'not_after_previous' };

    // Speed check with the measurement errors of both fixes as slack: two noisy fixes 1 s apart are not a sprint.
    const jump = Math.hypot(east - last.east, north - last.north);
    const slack = 3 * Math.hypot(sigma, last.sigma);
    if (jump - slack > this.options.maxSpeedMps * dt) return this.reject(fix, rawIndex, east, north, sigma, 'impossible_speed');

    const q = this.options.accelerationNoise ** 2;
    const predictedEast = predict(this.east, dt);
    const predictedNorth = predict(this.north, dt);
    const predictedCovariance = predictCovariance(this.covariance, dt, q);
    const variance = sigma * sigma;
    const innovationVariance = predictedCovariance[0] + variance;
    const innovationEast = east - predictedEast.position;
    const innovationNorth = north - predictedNorth.position;
    if ((innovationEast ** 2 + innovationNorth ** 2) / innovationVariance > this.options.gateChiSquare) {
      return this.reject(fix, rawIndex, east, north, sigma, 'outside_gate');
    }

    const [pp, pv, vv] = predictedCovariance;
    const gainPosition = pp / innovationVariance;
    const gainVelocity = pv / innovationVariance;
    const update = (state: AxisState, innovation: number): AxisState => ({
      position: state.position + gainPosition * innovation,
      velocity: state.velocity + gainVelocity * innovation,
    });
    this.east = update(predictedEast, innovationEast);
    this.north = update(predictedNorth, innovationNorth);
    this.covariance = [(1 - gainPosition) * pp, (1 - gainPosition) * pv, vv - gainVelocity * pv];
    this.consecutiveRejections = 0;
    this.lastAccepted = { t: fix.t, east, north, sigma };
    this.steps.push({
      t: fix.t,
      rawIndex,
      restart: false,
      dt,
      predicted: { east: predictedEast, north: predictedNorth, covariance: predictedCovariance },
      filtered: { east: this.east, north: this.north, covariance: this.covariance },
    });
    return this.accepted();
  }

  private reject(fix: RawFix, rawIndex: number, east: number, north: number, sigma: number, reason: RejectionReason): FixVerdict {
    this.consecutiveRejections++;
    if (this.consecutiveRejections >= this.options.restartAfterRejections) return this.restart(fix, rawIndex, east, north, sigma);
    return { accepted: false, reason };
  }

  private restart(fix: RawFix, rawIndex: number, east: number, north: number, sigma: number): FixVerdict {
    this.east = { position: east, velocity: 0 };
    this.north = { position: north, velocity: 0 };
    // Velocity unknown: as uncertain as the fastest plausible athlete.
    this.covariance = [sigma * sigma, 0, this.options.maxSpeedMps ** 2];
    this.consecutiveRejections = 0;
    this.lastAccepted = { t: fix.t, east, north, sigma };
    const snapshot = { east: this.east, north: this.north, covariance: this.covariance };
    this.steps.push({ t: fix.t, rawIndex, restart: true, dt: 0, predicted: snapshot, filtered: snapshot });
    return this.accepted();
  }

  private accepted(): FixVerdict {
    return { accepted: true, east: this.east.position, north: this.north.position, velocityEast: this.east.velocity, velocityNorth: this.north.velocity };
  }

  private sigmaOf(fix: RawFix): number {
    if (fix.accuracyM !== undefined && fix.accuracyM > 0) return fix.accuracyM;
    if (fix.hdop !== undefined && fix.hdop > 0) return fix.hdop * this.options.uereM;
    return this.options.defaultAccuracyM;
  }
}

function isValidFix(fix: RawFix): boolean {
  return (
    Number.isFinite(fix.t) &&
    Number.isFinite(fix.latitude) &&
    Number.isFinite(fix.longitude) &&
    Math.abs(fix.latitude) <= 90 &&
    Math.abs(fix.longitude) <= 180 &&
    (fix.hdop === undefined || (Number.isFinite(fix.hdop) && fix.hdop >= 0)) &&
    (fix.accuracyM === undefined || (Number.isFinite(fix.accuracyM) && fix.accuracyM >= 0))
  );
}

/** Rauch–Tung–Striebel backward pass over one restart-free run of steps, in place on `east`/`north`. */
function smoothRun(steps: FilterStep[], from: number, to: number, east: AxisState[], north: AxisState[]): void {
  for (let k = to - 1; k >= from; k--) {
    const current = steps[k] as FilterStep;
    const next = steps[k + 1] as FilterStep;
    const dt = next.dt;
    const [pp, pv, vv] = current.filtered.covariance;
    const [ap, av, aw] = next.predicted.covariance;
    const determinant = ap * aw - av * av;
    // Gain C = P Fᵀ (P⁻)⁻¹, with P Fᵀ = [[pp + dt pv, pv], [pv + dt vv, vv]].
    const m00 = pp + dt * pv;
    const m01 = pv;
    const m10 = pv + dt * vv;
    const m11 = vv;
    const c00 = (m00 * aw - m01 * av) / determinant;
    const c01 = (m01 * ap - m00 * av) / determinant;
    const c10 = (m10 * aw - m11 * av) / determinant;
    const c11 = (m11 * ap - m10 * av) / determinant;
    const smoothAxis = (filtered: AxisState, predicted: AxisState, smoothedNext: AxisState): AxisState => {
      const dp = smoothedNext.position - predicted.position;
      const dv = smoothedNext.velocity - predicted.velocity;
      return { position: filtered.position + c00 * dp + c01 * dv, velocity: filtered.velocity + c10 * dp + c11 * dv };
    };
    east[k] = smoothAxis(current.filtered.east, next.predicted.east, east[k + 1] as AxisState);
    north[k] = smoothAxis(current.filtered.north, next.predicted.north, north[k + 1] as AxisState);
  }
}

function pathLength(points: ReadonlyArray<{ latitude: number; longitude: number; restart?: boolean }>): number {
  let total = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as { latitude: number; longitude: number };
    const b = points[i] as { latitude: number; longitude: number; restart?: boolean };
    if (b.restart) continue;
    total += haversineM(a.latitude, a.longitude, b.latitude, b.longitude);
  }
  return total;
}

/** The whole recorded track: forward filter with outlier rejection, then the smoothing pass. */
export function correctTrack(raw: readonly RawFix[], options: Partial<TrackOptions> = {}): CorrectedTrack {
  const filter = new GpsTrackFilter(options);
  const rejected: CorrectedTrack['rejected'] = [];
  raw.forEach((fix, rawIndex) => {
    const verdict = filter.push(fix);
    if (!verdict.accepted) rejected.push({ rawIndex, reason: verdict.reason });
  });
  const { steps } = filter;
  const east = steps.map((step) => step.filtered.east);
  const north = steps.map((step) => step.filtered.north);
  let runStart = 0;
  for (let k = 1; k <= steps.length; k++) {
    if (k === steps.length || (steps[k] as FilterStep).restart) {
      smoothRun(steps, runStart, k - 1, east, north);
      runStart = k;
    }
  }
  const frame = filter.localFrame;
  const corrected: CorrectedPoint[] = frame
    ? steps.map((step, k) => {
        const e = east[k] as AxisState;
        const n = north[k] as AxisState;
        return { t: step.t, ...frame.toGeodetic(e.position, n.position), speed: Math.hypot(e.velocity, n.velocity), rawIndex: step.rawIndex, restart: step.restart };
      })
    : [];
  const validRaw = raw.filter(isValidFix);
  return { raw: [...raw], corrected, rejected, rawDistanceM: pathLength(validRaw), correctedDistanceM: pathLength(corrected) };
}
