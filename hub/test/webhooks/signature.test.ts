import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSecret, generateSecret, sign, signDelivery, verifyDelivery, WebhookSignatureError } from '../../src/webhooks/signature.ts';

// The test vector published with the Standard Webhooks reference libraries (libraries/*/ "sign function works").
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const at = (seconds: number) => new Date(seconds * 1000);

function refusedWith(code: string) {
  return (err: unknown) => err instanceof WebhookSignatureError && err.code === code;
}

test('sign reproduces the Standard Webhooks published test vector', () => {
  assert.equal(sign(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body), VECTOR.signature);
  assert.equal(sign(VECTOR.secret, VECTOR.id, VECTOR.timestamp, Buffer.from(VECTOR.body)), VECTOR.signature);
});

test('verifyDelivery accepts the published test vector at its own time', () => {
  const headers = {
    'webhook-id': VECTOR.id,
    'webhook-timestamp': String(VECTOR.timestamp),
    'webhook-signature': VECTOR.signature,
  };
  assert.deepEqual(verifyDelivery([VECTOR.secret], headers, VECTOR.body, { now: at(VECTOR.timestamp) }), {
    id: VECTOR.id,
    timestampSeconds: VECTOR.timestamp,
  });
});

test('signDelivery uses the attempt time in whole seconds and round-trips through verifyDelivery', () => {
  const secret = generateSecret();
  const now = new Date(1_700_000_000_999);
  const headers = signDelivery([secret], 'evt_1', '{"a":1}', now);
  assert.equal(headers['webhook-timestamp'], '1700000000');
  assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
  verifyDelivery([secret], headers, '{"a":1}', { now });
});

test('verifyDelivery reads headers case-insensitively, as Node gives them or not', () => {
  const secret = generateSecret();
  const now = at(1_700_000_000);
  const headers = signDelivery([secret], 'evt_1', 'x', now);
  const shouted = {
    'Webhook-Id': headers['webhook-id'],
    'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'],
    'Webhook-Signature': [headers['webhook-signature']],
  };
  verifyDelivery([secret], shouted, 'x', { now });
});

test('a changed body, id or timestamp does not verify', () => {
  const secret = generateSecret();
  const now = at(1_700_000_000);
  const headers = signDelivery([secret], 'evt_1', '{"a":1}', now);
  assert.throws(() => verifyDelivery([secret], headers, '{"a":2}', { now }), refusedWith('no_matching_signature'));
  assert.throws(() => verifyDelivery([secret], { ...headers, 'webhook-id': 'evt_2' }, '{"a":1}', { now }), refusedWith('no_matching_signature'));
  assert.throws(() => verifyDelivery([secret], { ...headers, 'webhook-timestamp': '1700000001' }, '{"a":1}', { now }), refusedWith('no_matching_signature'));
});

test('another secret does not verify', () => {
  const now = at(1_700_000_000);
  const headers = signDelivery([generateSecret()], 'evt_1', 'x', now);
  assert.throws(() => verifyDelivery([generateSecret()], headers, 'x', { now }), refusedWith('no_matching_signature'));
});

test('a timestamp beyond the tolerance, old or ahead, is refused; at the edge it is accepted', () => {
  const secret = generateSecret();
  const sent = at(1_700_000_000);
  const headers = signDelivery([secret], 'evt_1', 'x', sent);
  const options = (seconds: number) => ({ now: at(1_700_000_000 + seconds), toleranceSeconds: 300 });
  verifyDelivery([secret], headers, 'x', options(300));
  verifyDelivery([secret], headers, 'x', options(-300));
  assert.throws(() => verifyDelivery([secret], headers, 'x', options(301)), refusedWith('timestamp_too_old'));
  assert.throws(() => verifyDelivery([secret], headers, 'x', options(-301)), refusedWith('timestamp_too_new'));
  // The default window is five minutes.
  assert.throws(() => verifyDelivery([secret], headers, 'x', { now: at(1_700_000_301) }), refusedWith('timestamp_too_old'));
});

test('a replayed delivery with its timestamp rewritten fails the signature', () => {
  const secret = generateSecret();
  const headers = signDelivery([secret], 'evt_1', 'x', at(1_700_000_000));
  const replay = { ...headers, 'webhook-timestamp': '1700003600' };
  assert.throws(() => verifyDelivery([secret], replay, 'x', { now: at(1_700_003_600) }), refusedWith('no_matching_signature'));
});

test('missing headers and malformed timestamps are refused', () => {
  const secret = generateSecret();
  const now = at(1_700_000_000);
  const headers = signDelivery([secret], 'evt_1', 'x', now);
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
    const partial: Record<string, string> = { ...headers };
    delete partial[name];
    assert.throws(() => verifyDelivery([secret], partial, 'x', { now }), refusedWith('missing_headers'));
  }
  for (const timestamp of ['1700000000.5', '-1', 'abc', '1e9', ' 1700000000']) {
    assert.throws(() => verifyDelivery([secret], { ...headers, 'webhook-timestamp': timestamp }, 'x', { now }), refusedWith('invalid_timestamp'));
  }
});

test('during a rotation a delivery carries one signature per secret and verifies with either', () => {
  const current = generateSecret();
  const previous = generateSecret();
  const now = at(1_700_000_000);
  const headers = signDelivery([current, previous], 'evt_1', 'x', now);
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  verifyDelivery([previous], headers, 'x', { now });
  verifyDelivery([current], headers, 'x', { now });
  // A receiver holding both secrets accepts a delivery signed with only one.
  verifyDelivery([previous, current], signDelivery([current], 'evt_2', 'x', now), 'x', { now });
});

test('signatures of other versions or shapes are ignored, not crashed on', () => {
  const secret = generateSecret();
  const now = at(1_700_000_000);
  const good = signDelivery([secret], 'evt_1', 'x', now)['webhook-signature'];
  const value = good.slice(3);
  const headers = (signature: string) => ({
    'webhook-id': 'evt_1',
    'webhook-timestamp': '1700000000',
    'webhook-signature': signature,
  });
  assert.throws(() => verifyDelivery([secret], headers(`v1a,${value}`), 'x', { now }), refusedWith('no_matching_signature'));
  assert.throws(() => verifyDelivery([secret], headers('v1,AAAA'), 'x', { now }), refusedWith('no_matching_signature'));
  assert.throws(() => verifyDelivery([secret], headers('garbage'), 'x', { now }), refusedWith('no_matching_signature'));
  verifyDelivery([secret], headers(`v1a,${value} garbage ${good}`), 'x', { now });
});

test('secrets outside the spec (no prefix, not base64, too short or long) are refused', () => {
  assert.equal(decodeSecret(VECTOR.secret).length, 24);
  assert.equal(decodeSecret(generateSecret()).length, 32);
  for (const secret of [
    'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    'whsec_',
    'whsec_' + Buffer.alloc(16).toString('base64'),
    'whsec_' + Buffer.alloc(65).toString('base64'),
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w',
  ]) {
    assert.throws(() => decodeSecret(secret), refusedWith('invalid_secret'), secret);
  }
  assert.throws(() => signDelivery([], 'evt_1', 'x', new Date()), refusedWith('invalid_secret'));
});

test('an id containing "." is refused when signing', () => {
  assert.throws(() => sign(VECTOR.secret, 'evt.1', 1, 'x'), WebhookSignatureError);
});
