/**
 * Signing of webhook deliveries in the Standard Webhooks scheme (https://www.standardwebhooks.com,
 * spec/standard-webhooks.md): the HMAC-SHA256 of `id.timestamp.body`, keyed with the decoded `whsec_` secret,
 * sent as `webhook-signature: v1,<base64>`. The id and the timestamp are signed with the body, so a receiver
 * that refuses old timestamps and remembers ids for the tolerance window cannot be replayed.
 *
 * Written on node:crypto rather than the `standardwebhooks` package: that package is CommonJS, computes HMAC in
 * JavaScript (fast-sha256), reads the clock itself with a fixed 5-minute window and JSON-parses the body on
 * verification; the scheme itself is a few lines, checked here against the spec's published test vector.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PulsebridgeError } from '@pulsebridge/runtime';

export const SECRET_PREFIX = 'whsec_';
/** The spec's bounds for a symmetric secret. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
/** Default replay window: the spec's reference libraries use five minutes either side. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export type WebhookSignatureErrorCode = 'missing_headers' | 'invalid_timestamp' | 'timestamp_too_old' | 'timestamp_too_new' | 'no_matching_signature' | 'invalid_secret';

export class WebhookSignatureError extends PulsebridgeError<WebhookSignatureErrorCode> {}

// A type, not an interface: it must be assignable to the header records verifyDelivery takes.
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** A new random secret in its serialized form, to show once to the admin who subscribes. */
export function generateSecret(bytes = 32): string {
  return SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

/** The key bytes of a `whsec_` secret; refuses secrets outside the spec's 24..64 bytes. */
export function decodeSecret(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new WebhookSignatureError('invalid_secret', `a webhook secret starts with "${SECRET_PREFIX}"`);
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  // Buffer.from(…, 'base64') skips bad characters silently; re-encoding tells a typo from a real secret.
  const key = Buffer.from(encoded, 'base64');
  if (key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
    throw new WebhookSignatureError('invalid_secret', 'a webhook secret is base64 after its prefix');
  }
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new WebhookSignatureError('invalid_secret', `a webhook secret has ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, not ${key.length}`);
  }
  return key;
}

function signedContent(id: string, timestampSeconds: number, body: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${id}.${timestampSeconds}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

function hmac(key: Buffer, id: string, timestampSeconds: number, body: string | Buffer): Buffer {
  return createHmac('sha256', key)
    .update(signedContent(id, timestampSeconds, body))
    .digest();
}

/** One `v1,<base64>` signature. */
export function sign(secret: string, id: string, timestampSeconds: number, body: string | Buffer): string {
  if (id.includes('.') || id === '') {
    // The spec: a '.' in the id would let one (id, timestamp, body) be read as another.
    throw new WebhookSignatureError('missing_headers', 'a webhook id is not empty and has no "."');
  }
  return `v1,${hmac(decodeSecret(secret), id, timestampSeconds, body).toString('base64')}`;
}

/**
 * The headers of one delivery attempt. `secrets` holds the current secret first and, during a rotation, the
 * previous ones: each signs, space-separated, so receivers still holding an old secret keep verifying.
 * The timestamp is the attempt's (a retry is signed anew), the id the event's (the receiver's idempotency key).
 */
export function signDelivery(secrets: readonly string[], id: string, body: string | Buffer, now: Date): WebhookHeaders {
  if (secrets.length === 0) throw new WebhookSignatureError('invalid_secret', 'a delivery needs a secret');
  const timestampSeconds = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((secret) => sign(secret, id, timestampSeconds, body)).join(' '),
  };
}

export interface VerifyOptions {
  /** The receiver's clock. */
  now: Date;
  /** How far the timestamp may be from `now`, either way; default five minutes. */
  toleranceSeconds?: number;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/**
 * The receiver's check (used by tests and given to subscribers as the reference): the timestamp is within the
 * tolerance of `now`, and one of the `v1` signatures matches one of `secrets` (several during a rotation).
 * Throws WebhookSignatureError; returns the event id and timestamp for the receiver's idempotency record.
 */
export function verifyDelivery(
  secrets: readonly string[],
  headers: Record<string, string | string[] | undefined>,
  body: string | Buffer,
  options: VerifyOptions,
): { id: string; timestampSeconds: number } {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookSignatureError('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature are required');
  }
  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new WebhookSignatureError('invalid_timestamp', 'webhook-timestamp is whole seconds since the epoch');
  }
  const timestampSeconds = Number(timestamp);
  const nowSeconds = Math.floor(options.now.getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (nowSeconds - timestampSeconds > tolerance) {
    throw new WebhookSignatureError('timestamp_too_old', `webhook-timestamp is more than ${tolerance} s old`);
  }
  if (timestampSeconds - nowSeconds > tolerance) {
    throw new WebhookSignatureError('timestamp_too_new', `webhook-timestamp is more than ${tolerance} s ahead`);
  }
  const offered = signatures
    .split(' ')
    .map((entry) => entry.split(','))
    .filter((parts): parts is [string, string] => parts.length === 2 && parts[0] === 'v1')
    .map(([, value]) => Buffer.from(value, 'base64'));
  for (const secret of secrets) {
    const expected = hmac(decodeSecret(secret), id, timestampSeconds, body);
    // timingSafeEqual throws on a length mismatch; the length of a signature is no secret.
    if (offered.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected))) {
      return { id, timestampSeconds };
    }
  }
  throw new WebhookSignatureError('no_matching_signature', 'no webhook-signature matches the secret');
}
