/**
 * NMEA 0183 GPS receiver: listens only. A receiver sends GGA and RMC for the same fix; both carry the
 * position, so the position of one fix epoch (same UTC time of day) is emitted once, with altitude from
 * GGA and speed and course from RMC. Each fix also goes through the live GPS track filter, whose output is
 * the `<id>~corrected` sensor: the raw track stays as received, outliers included.
 *
 * The corrected track is smoothed over a short window (a fixed-lag Rauch–Tung–Striebel pass through
 * `correctTrack`), so a corrected position goes out `lagFixes` fixes after its raw fix, stamped with the
 * raw fix's receive time. A forward filter alone leaves enough jitter in the positions to overstate the
 * distance by several percent; the smoothing pass brings it within a percent. When fixes stop (dropout,
 * end of the session) the pending positions are flushed after `flushAfterMs`.
 */
import type { MetricId } from '@pulsebridge/protocol';
import type { Measurement } from '../../measurement.ts';
import { GpsTrackFilter, correctTrack, type CorrectedPoint, type RawFix, type TrackOptions } from '../../gps/track.ts';
import { createNmeaLineReader, decodeNmeaSentence, parseNmeaSentence } from '../nmea/sentence.ts';
import type { AsciiLineReader } from '../line-reader.ts';
import type { DriverContext, SerialDriver } from './driver.ts';

/** GPS receivers are `gps:nmea:<port>`, their corrected track `gps:nmea:<port>~corrected`. */
export const NMEA_ID_PREFIX = 'gps:nmea:';

export interface NmeaDriverOptions {
  track: Partial<TrackOptions>;
  /** Fixes after its own that a corrected position waits for: the smoother's look-ahead. */
  lagFixes?: number;
  /** Fixes before it that the smoother uses. */
  historyFixes?: number;
  /** No fix for this long: emit the corrected positions still waiting for their look-ahead. */
  flushAfterMs?: number;
}

interface WindowFix {
  fix: RawFix;
  sequence: number;
  /** performance.now() when the fix arrived. */
  receivedAt: number;
}

/** The live filter never reads its step history; only `correctTrack` does. Trimmed so a day-long session stays small. */
const MAX_FILTER_STEPS = 256;

const SECONDS_PER_DAY = 86_400;
/** Below this the filter's velocity direction is mostly noise: no corrected heading. */
const MIN_SPEED_FOR_HEADING_MPS = 0.5;
/**
 * Sentences the receiver sends while it has no fix. They are valid NMEA, not bad frames: counted apart
 * from `rejected`. The reasons come from `parseNmeaSentence`.
 */
const NO_FIX = /^(GGA|RMC): (no fix|void fix|no position)/;

interface Epoch {
  timeOfDaySeconds: number;
  emitted: Set<MetricId>;
  fixPushed: boolean;
}

export class NmeaDriver implements SerialDriver {
  readonly kind = 'gps';
  readonly idPrefix = NMEA_ID_PREFIX;
  readonly metrics: readonly MetricId[] = ['latitude', 'longitude', 'altitude', 'gps_speed', 'heading'];
  readonly correctedMetrics: readonly MetricId[] = ['latitude', 'longitude', 'gps_speed', 'heading'];
  readonly rateHz = 1;
  private readonly trackOptions: Partial<TrackOptions>;
  private readonly lagFixes: number;
  private readonly windowFixes: number;
  private readonly flushAfterMs: number;
  private window: WindowFix[] = [];
  private sequence = 0;
  private lastEmitted = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly reader: AsciiLineReader = createNmeaLineReader();
  private filter: GpsTrackFilter;
  private context: DriverContext | undefined;
  private epoch: Epoch | undefined;
  private droppedSeen = 0;
  private dayOffsetSeconds = 0;
  private readonly count = { sentences: 0, epochs: 0, noFix: 0, outliers: 0 };

  constructor(options: NmeaDriverOptions) {
    this.trackOptions = options.track;
    this.lagFixes = options.lagFixes ?? 5;
    this.windowFixes = this.lagFixes + 1 + (options.historyFixes ?? 14);
    this.flushAfterMs = options.flushAfterMs ?? 2_500;
    this.filter = new GpsTrackFilter(options.track);
  }

  open(context: DriverContext): void {
    this.context = context;
    this.reader.reset();
    this.epoch = undefined;
    // After a reconnect the athlete may be anywhere: the filter starts over rather than gating the first fixes.
    this.filter = new GpsTrackFilter(this.trackOptions);
    this.dayOffsetSeconds = 0;
    this.window = [];
    this.lastEmitted = this.sequence;
  }

  close(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.context = undefined;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.count, droppedLines: this.reader.counters.tooLong + this.reader.counters.notAscii, correctedPending: this.sequence - this.lastEmitted };
  }

  receive(chunk: Uint8Array): void {
    const context = this.context;
    if (!context) return;
    const lines = this.reader.push(chunk);
    const dropped = this.reader.counters.tooLong + this.reader.counters.notAscii;
    for (; this.droppedSeen < dropped; this.droppedSeen++) context.rejected('NMEA line dropped (too long or not ASCII)');
    for (const line of lines) this.sentence(context, line);
  }

  private sentence(context: DriverContext, line: string): void {
    const parsed = parseNmeaSentence(line);
    if (!parsed.ok) {
      if (NO_FIX.test(parsed.reason)) this.count.noFix++;
      else context.rejected(`NMEA: ${parsed.reason}`);
      return;
    }
    this.count.sentences++;
    const { sentence } = parsed;
    if (sentence.type === 'other') return;
    const decoded = decodeNmeaSentence(line);
    if (!decoded.ok) {
      context.rejected(`NMEA: ${decoded.reason}`);
      return;
    }
    let epoch = this.epoch;
    if (!epoch || epoch.timeOfDaySeconds !== sentence.timeOfDaySeconds) {
      if (epoch && sentence.timeOfDaySeconds < epoch.timeOfDaySeconds - SECONDS_PER_DAY / 2) this.dayOffsetSeconds += SECONDS_PER_DAY;
      epoch = { timeOfDaySeconds: sentence.timeOfDaySeconds, emitted: new Set(), fixPushed: false };
      this.epoch = epoch;
      this.count.epochs++;
    }
    const fresh = decoded.measurements.filter((m) => !epoch.emitted.has(m.metric));
    for (const m of fresh) epoch.emitted.add(m.metric);
    if (fresh.length > 0) context.measurements(fresh);
    if (epoch.fixPushed) return;
    epoch.fixPushed = true;
    this.correct(context, {
      // The receiver's own clock, not the receive time: fixes replayed or delayed in a burst keep their spacing.
      t: (this.dayOffsetSeconds + sentence.timeOfDaySeconds) * 1000,
      latitude: sentence.latitude,
      longitude: sentence.longitude,
      ...(sentence.type === 'GGA' && sentence.hdop !== undefined ? { hdop: sentence.hdop } : {}),
    });
  }

  private correct(context: DriverContext, fix: RawFix): void {
    const verdict = this.filter.push(fix);
    if (this.filter.steps.length > MAX_FILTER_STEPS) this.filter.steps.splice(0, this.filter.steps.length - MAX_FILTER_STEPS / 2);
    if (!verdict.accepted) {
      this.count.outliers++;
      return;
    }
    if (this.filter.steps.at(-1)?.restart) {
      // The filter gave up on the past (gap, or a run of rejections): the smoother must not bridge it.
      this.flush(context);
      this.window = [];
    }
    this.window.push({ fix, sequence: ++this.sequence, receivedAt: performance.now() });
    if (this.window.length > this.windowFixes) this.window.shift();
    this.emitCorrected(context, this.sequence - this.lagFixes);
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.context) this.flush(this.context);
    }, this.flushAfterMs);
  }

  private flush(context: DriverContext): void {
    this.emitCorrected(context, this.sequence);
  }

  /** Smooths the window and emits every corrected position not yet emitted, up to `upTo`. */
  private emitCorrected(context: DriverContext, upTo: number): void {
    if (upTo <= this.lastEmitted || this.window.length === 0) return;
    const { corrected } = correctTrack(
      this.window.map((entry) => entry.fix),
      this.trackOptions,
    );
    const byIndex = new Map<number, CorrectedPoint>(corrected.map((point) => [point.rawIndex, point]));
    const now = performance.now();
    this.window.forEach((entry, index) => {
      if (entry.sequence <= this.lastEmitted || entry.sequence > upTo) return;
      const point = byIndex.get(index);
      // The live filter accepted it but the window's pass did not: no corrected position rather than a doubtful one.
      if (!point) return;
      const offsetMs = Math.min(0, entry.receivedAt - now);
      const measurements: Measurement[] = [
        { metric: 'latitude', value: point.latitude, offsetMs },
        { metric: 'longitude', value: point.longitude, offsetMs },
        { metric: 'gps_speed', value: point.speed, offsetMs },
      ];
      const heading = headingAround(byIndex, index);
      if (point.speed >= MIN_SPEED_FOR_HEADING_MPS && heading !== undefined) measurements.push({ metric: 'heading', value: heading, offsetMs });
      context.measurements(measurements, 'corrected');
    });
    this.lastEmitted = Math.max(this.lastEmitted, upTo);
  }
}

const RADIANS = Math.PI / 180;

/** Course over ground through a corrected point, from its neighbours in the smoothed window. */
function headingAround(points: ReadonlyMap<number, CorrectedPoint>, index: number): number | undefined {
  const before = points.get(index - 1) ?? points.get(index);
  const after = points.get(index + 1) ?? points.get(index);
  if (!before || !after || before === after) return undefined;
  const dLon = (after.longitude - before.longitude) * RADIANS;
  const y = Math.sin(dLon) * Math.cos(after.latitude * RADIANS);
  const x = Math.cos(before.latitude * RADIANS) * Math.sin(after.latitude * RADIANS) - Math.sin(before.latitude * RADIANS) * Math.cos(after.latitude * RADIANS) * Math.cos(dLon);
  return (((Math.atan2(y, x) / RADIANS) % 360) + 360) % 360;
}
