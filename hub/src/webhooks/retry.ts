/**
 * When a webhook delivery is attempted again, and whether it is at all. Stateless on purpose: the delivery log
 * keeps each delivery's attempt count, and after a hub restart `nextAttemptAt(attempts, now)` gives the same
 * schedule as before it. That is also why this is a fixed table and not the runtime's Backoff: Backoff counts
 * attempts in memory and grows by one factor, while this schedule spreads seven attempts over about seven hours
 * in uneven steps (the Standard Webhooks spec's example has the same shape). The jitter follows Backoff's rule.
 */

/** Delay before each attempt, by the number of attempts already made; past the end, the delivery gives up. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [
  0, // the first attempt, immediately
  5_000,
  30_000,
  120_000,
  600_000,
  3_600_000,
  21_600_000,
];

export interface RetryPolicy {
  delaysMs: readonly number[];
  /** Share of each delay that is randomised, 0..1: a delay d is drawn from [d·(1 − jitter), d], like Backoff's. */
  jitter: number;
  /** The longest wait a receiver's Retry-After can impose; a longer one is cut to this. */
  maxRetryAfterMs: number;
  /** Injected for deterministic tests. */
  random: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  delaysMs: DEFAULT_RETRY_DELAYS_MS,
  jitter: 0.2,
  maxRetryAfterMs: 21_600_000,
  random: Math.random,
};

function jittered(delayMs: number, policy: RetryPolicy): number {
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.round(delayMs * (1 - jitter * policy.random()));
}

/**
 * When the next attempt is due, given the attempts already made (0 for a new delivery), or undefined when the
 * schedule is used up and the delivery has failed for good.
 */
export function nextAttemptAt(attempts: number, now: Date, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Date | undefined {
  const delayMs = policy.delaysMs[Math.max(0, Math.floor(attempts))];
  if (delayMs === undefined) return undefined;
  return new Date(now.getTime() + jittered(delayMs, policy));
}

/** What one attempt came back with. */
export type AttemptResult = { kind: 'network_error' } | { kind: 'timeout' } | { kind: 'response'; status: number; retryAfter?: string | undefined };

/**
 * delivered: a 2xx. retry: worth another attempt. failed: the receiver refused this delivery for good (another 4xx,
 * or a 3xx: redirects are not followed, since the target was never checked by the URL guard; the subscriber
 * should fix its URL). gone: a 410, the receiver wants no more deliveries: the subscription is disabled.
 */
export type AttemptClass = 'delivered' | 'retry' | 'failed' | 'gone';

export function classifyAttempt(result: AttemptResult): AttemptClass {
  if (result.kind !== 'response') return 'retry';
  const { status } = result;
  if (status >= 200 && status <= 299) return 'delivered';
  if (status === 410) return 'gone';
  if (status === 408 || status === 429 || (status >= 500 && status <= 599)) return 'retry';
  return 'failed';
}

/**
 * A Retry-After header as milliseconds from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only the HTTP-date form; Date.parse alone would also take "1" or "2026" as dates.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

export type AttemptDecision = { outcome: 'delivered' } | { outcome: 'retry'; at: Date } | { outcome: 'failed'; reason: 'refused' | 'exhausted' } | { outcome: 'gone' };

/**
 * What to do after an attempt. `attempts` counts the attempts made, this one included. A retry waits the
 * schedule's delay or the receiver's Retry-After (cut to maxRetryAfterMs), whichever is longer: the receiver
 * asked for no sooner, and a short Retry-After does not shorten the schedule; it does not add attempts either.
 */
export function decideAfterAttempt(result: AttemptResult, attempts: number, now: Date, policy: RetryPolicy = DEFAULT_RETRY_POLICY): AttemptDecision {
  const verdict = classifyAttempt(result);
  if (verdict === 'delivered') return { outcome: 'delivered' };
  if (verdict === 'gone') return { outcome: 'gone' };
  if (verdict === 'failed') return { outcome: 'failed', reason: 'refused' };
  const scheduled = nextAttemptAt(attempts, now, policy);
  if (!scheduled) return { outcome: 'failed', reason: 'exhausted' };
  const retryAfterMs = result.kind === 'response' ? parseRetryAfter(result.retryAfter, now) : undefined;
  if (retryAfterMs === undefined) return { outcome: 'retry', at: scheduled };
  const receiverAt = now.getTime() + Math.min(retryAfterMs, policy.maxRetryAfterMs);
  return { outcome: 'retry', at: new Date(Math.max(scheduled.getTime(), receiverAt)) };
}
