/**
 * What both identity adapters do with the rows of an erased account that must outlive it: audit entries
 * stay (the gym's audit trail must still say that something happened, when and in which gym), but every
 * trace of the person in them becomes DELETED_USER.
 */
import type { User } from './identity-store.ts';

/** Stands where an erased person's id, email or name was; never a user id (those are UUIDs). */
export const DELETED_USER = 'deleted-user';

/** The strings that identify the person: id, email and display name, as stored. */
export function tracesOf(user: User): string[] {
  return [user.id, user.email, user.displayName].filter((trace) => trace.trim() !== '');
}

/**
 * Case-insensitively (emails are unique without regard to case, a name may be retyped in any case), and only
 * as a whole word: the name "Ann" is in "Ann's strap", not in "Annual pass".
 */
function tracePattern(traces: readonly string[]): RegExp {
  const alternatives = traces.map((trace) => trace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives})(?![\\p{L}\\p{N}])`, 'giu');
}

/** Does the text (e.g. a JSON column) hold any trace of the person? */
export function mentions(text: string, traces: readonly string[]): boolean {
  return tracePattern(traces).test(text);
}

/** A copy of the value with every trace of the person, in any string at any depth (keys too), replaced. */
export function redacted<T>(value: T, traces: readonly string[]): T {
  const pattern = tracePattern(traces);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(pattern, DELETED_USER);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([key, inner]) => [walk(key) as string, walk(inner)]));
    return v;
  };
  return walk(value) as T;
}
