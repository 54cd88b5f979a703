/** The status message's optional per-sensor signal: what a hub accepts and what it refuses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_STATUS_SIGNALS, ProtocolError, decodeJsonMessage } from '../src/index.ts';

const T0 = 1_764_072_000_000;
const encode = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const status = (signal: unknown): Buffer => encode({ state: 'online', version: '1.2.3', signal });

function refused(payload: Buffer): ProtocolError {
  try {
    decodeJsonMessage('status', payload);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
    return err;
  }
  assert.fail('the status was accepted');
}

test('a status without signal is accepted as before (older agents)', () => {
  const decoded = decodeJsonMessage('status', encode({ state: 'online', version: '1.2.3' }));
  assert.equal(decoded.signal, undefined);
});

test('a status with signal at the bounds -127 and 20 dBm is accepted and keeps every entry', () => {
  const signal = [
    { id: 'ble:c0-ff-ee-00-00-01', rssi: -127, at: T0 },
    { id: 'simulator:hr-1', rssi: 20, at: T0 + 1 },
    { id: 'ble:c0-ff-ee-00-00-02', rssi: -67, at: 0 },
  ];
  assert.deepEqual(decodeJsonMessage('status', status(signal)).signal, signal);
});

test('unknown properties of a signal entry are dropped', () => {
  const decoded = decodeJsonMessage('status', status([{ id: 'ble:a', rssi: -50, at: T0, snr: 3 }]));
  assert.deepEqual(decoded.signal, [{ id: 'ble:a', rssi: -50, at: T0 }]);
});

test('rssi outside -127..20, not an integer, or not a number is refused as invalid', () => {
  for (const rssi of [-128, 21, -67.5, '-67', null, 1e9]) {
    assert.equal(refused(status([{ id: 'ble:a', rssi, at: T0 }])).code, 'invalid', `rssi ${String(rssi)}`);
  }
});

test('a bad sensor id, a negative or missing time, or a non-array signal is refused as invalid', () => {
  for (const signal of [
    [{ id: 'ble:has space', rssi: -50, at: T0 }],
    [{ id: '', rssi: -50, at: T0 }],
    [{ id: 'ble:a', rssi: -50, at: -1 }],
    [{ id: 'ble:a', rssi: -50, at: 8.64e15 + 1 }],
    [{ id: 'ble:a', rssi: -50 }],
    { 'ble:a': -50 },
  ]) {
    assert.equal(refused(status(signal)).code, 'invalid', JSON.stringify(signal));
  }
});

test(`at most ${MAX_STATUS_SIGNALS} sensors: one more is refused`, () => {
  const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `ble:s-${i}`, rssi: -60, at: T0 }));
  assert.equal(decodeJsonMessage('status', status(entries(MAX_STATUS_SIGNALS))).signal?.length, MAX_STATUS_SIGNALS);
  assert.equal(refused(status(entries(MAX_STATUS_SIGNALS + 1))).code, 'invalid');
});
