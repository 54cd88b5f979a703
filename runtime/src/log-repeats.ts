/**
 * Repeated identical log lines, written once with a count: a full disk or an agent sending garbage makes the
 * same error many times a second, and a log that repeats it buries everything else (and fills the disk).
 *
 * The first occurrence of a key is written at once. Further ones within the interval are only counted, and
 * when the interval ends one summary line says "<message> (repeated N times in the last T s)". A key that
 * stayed quiet for a whole interval is forgotten, so its next occurrence is written at once again.
 */
import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';

export type RepeatLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug';

export interface LogRepeatsOptions {
  /** How long repeats of one key are counted before their summary line; 0 writes every line. Default 60 s. */
  intervalMs?: number | undefined;
  /**
   * Keys tracked at once. Keys may come from remote peers (agent ids, reasons), so past this the new ones
   * share one more key: those kinds are no longer told apart, but memory stays bounded. Default 1000.
   */
  maxKeys?: number | undefined;
  /** Monotonic milliseconds, for the duration a summary written early by flush() covers. */
  mono?: (() => number) | undefined;
}

interface Repeats {
  level: RepeatLevel;
  message: string;
  fields: Record<string, unknown>;
  count: number;
  sinceMono: number;
  timer: NodeJS.Timeout;
}

export const DEFAULT_REPEAT_INTERVAL_MS = 60_000;
const DEFAULT_MAX_KEYS = 1_000;
/** The key that keys past maxKeys share. */
const OTHER_KEY = '\u0000other';

export class LogRepeats {
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly maxKeys: number;
  private readonly mono: () => number;
  private readonly keys = new Map<string, Repeats>();

  constructor(log: Logger, options: LogRepeatsOptions = {}) {
    this.log = log;
    this.intervalMs = Math.max(0, options.intervalMs ?? DEFAULT_REPEAT_INTERVAL_MS);
    this.maxKeys = Math.max(1, options.maxKeys ?? DEFAULT_MAX_KEYS);
    this.mono = options.mono ?? (() => performance.now());
  }

  /** Keys currently counting repeats. */
  get size(): number {
    return this.keys.size;
  }

  /** Writes the line if `key` is new in this interval, otherwise counts it. Returns true when written. */
  write(level: RepeatLevel, key: string, fields: Record<string, unknown>, message: string): boolean {
    if (this.intervalMs === 0) {
      this.log[level](fields, message);
      return true;
    }
    const tracked = this.keys.has(key) || this.keys.size < this.maxKeys ? key : OTHER_KEY;
    const entry = this.keys.get(tracked);
    if (entry) {
      entry.count++;
      entry.fields = fields;
      return false;
    }
    const timer = this.arm(tracked);
    // Past maxKeys one key stands for many kinds: its summary cannot repeat one kind's message.
    const summaryMessage = tracked === OTHER_KEY ? `log lines of ${this.maxKeys}+ other kinds` : message;
    this.keys.set(tracked, { level, message: summaryMessage, fields, count: 0, sinceMono: this.mono(), timer });
    this.log[level](fields, message);
    return true;
  }

  error(key: string, fields: Record<string, unknown>, message: string): boolean {
    return this.write('error', key, fields, message);
  }

  warn(key: string, fields: Record<string, unknown>, message: string): boolean {
    return this.write('warn', key, fields, message);
  }

  info(key: string, fields: Record<string, unknown>, message: string): boolean {
    return this.write('info', key, fields, message);
  }

  /** Writes the summaries of what is counted so far and forgets every key: call it when the component stops. */
  flush(): void {
    const now = this.mono();
    for (const entry of this.keys.values()) {
      clearTimeout(entry.timer);
      if (entry.count > 0) this.summarize(entry, now - entry.sinceMono);
    }
    this.keys.clear();
  }

  private intervalEnded(key: string): void {
    const entry = this.keys.get(key);
    if (!entry) return;
    if (entry.count === 0) {
      this.keys.delete(key);
      return;
    }
    this.summarize(entry, this.intervalMs);
    entry.count = 0;
    entry.sinceMono = this.mono();
    entry.timer = this.arm(key);
  }

  private arm(key: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.intervalEnded(key), this.intervalMs);
    // A summary line is not worth keeping a stopping process alive.
    timer.unref();
    return timer;
  }

  private summarize(entry: Repeats, periodMs: number): void {
    const seconds = Math.round(periodMs / 100) / 10;
    // The first line carried the details (and a stack, if any); the summary only says how often it recurred.
    const { err, ...fields } = entry.fields;
    const summary: Record<string, unknown> = { ...fields, repeated: entry.count, periodS: seconds };
    if (err !== undefined) summary.err = errorMessage(err);
    this.log[entry.level](summary, `${entry.message} (repeated ${entry.count} times in the last ${seconds} s)`);
  }
}
