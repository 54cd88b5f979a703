/**
 * Turning query strings into typed, validated input. Every failure is an ApiError naming the parameter,
 * so bad input is always a 400 and never reaches a store.
 */
import { createHash } from 'node:crypto';
import type { ParsedUrlQuery } from 'node:querystring';
import { Kind, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { checkPage } from '../storage/series/series-query.ts';
import type { SeriesInfo } from '../storage/series/series-store.ts';
import { invalidParameter, type ApiError } from './problem.ts';

/** Parses query strings, and path parameters by the same rules. */
export interface QueryParser<T extends TObject> {
  readonly schema: T;
  /** Throws ApiError('invalid_parameter') naming the first offending parameter. */
  parse(query: ParsedUrlQuery): Static<T>;
}

// Stricter than TypeBox's Value.Convert, which reads '1e3' as 1 and 'true' as 1: a limit is digits or nothing.
const INTEGER_TEXT = /^-?\d{1,15}$/;
const NUMBER_TEXT = /^-?\d{1,15}(\.\d{1,15})?$/;
const MAX_ECHOED_NAME = 64;

function schemaType(schema: TSchema): string | undefined {
  return typeof schema['type'] === 'string' ? schema['type'] : undefined;
}

function allowedLiterals(schema: TSchema): string[] | undefined {
  const anyOf: unknown = schema['anyOf'];
  if (!Array.isArray(anyOf)) return undefined;
  const values: string[] = [];
  for (const member of anyOf as TSchema[]) {
    if (member[Kind] !== 'Literal') return undefined;
    values.push(String(member['const']));
  }
  return values;
}

/** What a failed check says about one value, in words for the client. */
export function describeFailure(type: ValueErrorType, schema: TSchema, message: string): string {
  switch (type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.Union: {
      const allowed = allowedLiterals(schema);
      return allowed ? `must be one of ${allowed.join(', ')}` : message;
    }
    case ValueErrorType.StringPattern:
    case ValueErrorType.StringFormat:
      return typeof schema.description === 'string' ? `expected ${schema.description}` : message;
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
      return 'must be a number';
    default:
      return message.charAt(0).toLowerCase() + message.slice(1);
  }
}

export function compileQuery<T extends TObject>(schema: T): QueryParser<T> {
  const compiled = TypeCompiler.Compile(schema);
  const known = Object.keys(schema.properties);
  return {
    schema,
    parse(query) {
      const input: Record<string, string | number> = {};
      for (const [name, raw] of Object.entries(query)) {
        // Own properties only: `constructor` or `__proto__` in a query string must not find Object.prototype.
        const property: TSchema | undefined = Object.hasOwn(schema.properties, name) ? schema.properties[name] : undefined;
        if (!property) {
          // Echoed back to the client and into logs: a name of any length is not.
          const shown = name.length > MAX_ECHOED_NAME ? `${name.slice(0, MAX_ECHOED_NAME)}…` : name;
          throw invalidParameter(shown, `unknown parameter; accepted: ${known.join(', ') || 'none'}`);
        }
        if (Array.isArray(raw)) throw invalidParameter(name, 'given more than once');
        // An empty value is how URL builders say "not set"; treating it as absent beats a confusing 400.
        if (raw === undefined || raw === '') continue;
        const type = schemaType(property);
        if (type === 'integer' && INTEGER_TEXT.test(raw)) input[name] = Number(raw);
        else if (type === 'number' && NUMBER_TEXT.test(raw)) input[name] = Number(raw);
        else input[name] = raw;
      }
      if (compiled.Check(input)) return input;
      const first = compiled.Errors(input).First();
      const name = first?.path.split('/')[1] ?? 'query';
      throw invalidParameter(name, first ? describeFailure(first.type, first.schema, first.message) : 'invalid');
    },
  };
}

export const TIME_PATTERN = '^(\\d{1,15}|\\d{4}-\\d{2}-\\d{2}([Tt]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?([Zz]|[+-]\\d{2}:?\\d{2}))?)$';
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|([+-])(\d{2}):?(\d{2})))?$/;
const EPOCH_MS = /^\d{1,15}$/;
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * UTC ms of a calendar time, with the year taken as written: Date.UTC reads years 0 to 99 as 1900 to 1999,
 * which would turn `0099-01-01` into 1999 (and give year 0, a leap year, the 28-day February of 1900).
 */
function utcMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, millis = 0): number {
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

function daysInMonth(year: number, month: number): number {
  return new Date(utcMs(year, month + 1, 0)).getUTCDate();
}

/**
 * ISO 8601 with a zone (a bare date means UTC midnight), or epoch milliseconds. Local times without a zone are
 * refused: the hub and the client rarely share a time zone, and guessing silently shifts the range.
 */
export function parseTime(value: string, param: string): number {
  if (EPOCH_MS.test(value)) {
    const ms = Number(value);
    if (ms > MAX_TIME_MS) throw invalidParameter(param, 'is after year 9999');
    return ms;
  }
  const m = ISO_TIME.exec(value);
  if (!m) throw invalidParameter(param, 'expected an ISO 8601 date-time with a zone (2024-05-01T10:00:00Z) or epoch milliseconds');
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw invalidParameter(param, `no such date: ${value}`);
  if (hour > 23 || minute > 59 || second > 59) throw invalidParameter(param, `no such time of day: ${value}`);
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) throw invalidParameter(param, `no such zone offset: ${value}`);
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const ms = utcMs(year, month, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  if (ms < 0) throw invalidParameter(param, 'is before 1970-01-01T00:00:00Z');
  // A zone offset can push 9999-12-31 past the end of year 9999, where epoch milliseconds are refused too.
  if (ms > MAX_TIME_MS) throw invalidParameter(param, 'is after year 9999');
  return ms;
}

export const STEP_PATTERN = '^\\d{1,12}(ms|s|m|h|d)?$';
const STEP_TEXT = /^(\d{1,12})(ms|s|m|h|d)?$/;
const STEP_UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `250`, `250ms`, `10s`, `1m`, `1h`, `1d` to milliseconds. */
export function parseStep(value: string, param: string): number {
  const m = STEP_TEXT.exec(value);
  if (!m) throw invalidParameter(param, 'expected milliseconds or a duration like 10s, 1m, 1h, 1d');
  const unit = (m[2] ?? 'ms') as keyof typeof STEP_UNIT_MS;
  const ms = Number(m[1]) * STEP_UNIT_MS[unit];
  if (ms < 1) throw invalidParameter(param, 'must be at least 1 ms');
  return ms;
}

/** Where the next page of a raw readings query starts. */
export interface ReadingsCursor {
  /** Inclusive start of the next page, UTC ms. */
  from: number;
  /**
   * Readings at exactly `from` already returned. Several agents can report the same sensor at the same
   * millisecond, so restarting at `from + 1` could lose some and restarting at `from` would repeat them.
   */
  skip: number;
}

const CURSOR_VERSION = 1;
const MAX_CURSOR_CHARS = 512;
/** A series cursor carries four ids of up to 128 characters each, some of them possibly multi-byte. */
export const MAX_SERIES_CURSOR_CHARS = 2_048;

/** Ties a cursor to the series it was issued for, so reusing it on another query is caught, not misread. */
export function cursorScope(parts: readonly (string | undefined)[]): string {
  return createHash('sha256')
    .update(parts.map((p) => p ?? '').join('\u0000'))
    .digest('base64url')
    .slice(0, 11);
}

export function encodeCursor(cursor: ReadingsCursor, scope: string): string {
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, f: cursor.from, s: cursor.skip, q: scope })).toString('base64url');
}

export function decodeCursor(text: string, scope: string, maxSkip: number): ReadingsCursor {
  const bad = (why: string): ApiError => invalidParameter('cursor', why);
  if (text.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw bad('is not a cursor this API issued');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('is not a cursor this API issued');
  }
  if (typeof decoded !== 'object' || decoded === null) throw bad('is not a cursor this API issued');
  const { v, f, s, q } = decoded as Record<string, unknown>;
  if (v !== CURSOR_VERSION) throw bad('is not a cursor this API issued');
  if (!Number.isSafeInteger(f) || (f as number) < 0 || !Number.isSafeInteger(s) || (s as number) < 0 || (s as number) > maxSkip) {
    throw bad('is corrupted');
  }
  if (q !== scope) throw bad('belongs to a different sensor, metric, agent or gym');
  return { from: f as number, skip: s as number };
}

/** The cursor of a series list page: the last series of the page, tied to the filter it was listed with. */
export function encodeSeriesCursor(last: SeriesInfo, scope: string): string {
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, k: [last.gym, last.agent, last.sensor, last.metric], q: scope })).toString('base64url');
}

export function decodeSeriesCursor(text: string, scope: string): SeriesInfo {
  const bad = (why: string): ApiError => invalidParameter('cursor', why);
  if (text.length > MAX_SERIES_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw bad('is not a cursor this API issued');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('is not a cursor this API issued');
  }
  if (typeof decoded !== 'object' || decoded === null || (decoded as Record<string, unknown>)['v'] !== CURSOR_VERSION) throw bad('is not a cursor this API issued');
  const { k, q } = decoded as Record<string, unknown>;
  if (!Array.isArray(k) || k.length !== 4 || !k.every((part) => typeof part === 'string')) throw bad('is corrupted');
  const [gym, agent, sensor, metric] = k as string[];
  const after = { gym, agent, sensor, metric } as SeriesInfo;
  try {
    // The store's own rules for ids and metrics: what it would refuse is a corrupted cursor, not a store error.
    checkPage({ limit: 1, after });
  } catch {
    throw bad('is corrupted');
  }
  if (q !== scope) throw bad('belongs to a different gym, agent or sensor filter');
  return after;
}
