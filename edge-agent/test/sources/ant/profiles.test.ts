import assert from 'node:assert/strict';
import { test } from 'node:test';
import { METRICS } from '@pulsebridge/protocol';
import { antProfileFor, ANT_PROFILES } from '../../../src/sources/ant/profiles/index.ts';
import { bytes, expectOk } from './fixtures.ts';

test('the table maps every ANT+ device type to its profile and channel period', () => {
  const periods = Object.fromEntries([...ANT_PROFILES.values()].map((p) => [p.deviceType, p.channelPeriod]));
  assert.deepEqual(periods, { 11: 8182, 17: 8192, 120: 8070, 121: 8086, 122: 8102, 123: 8118, 124: 8134 });
  assert.equal(antProfileFor(120 | 0x80)?.name, 'heart_rate', 'the pairing bit is ignored');
  assert.equal(antProfileFor(0x19), undefined);
});

test('table decoders thread opaque state: heart rate RR through the table', () => {
  const hr = antProfileFor(120);
  assert.ok(hr);
  const first = expectOk(hr.decode(bytes('00 00 00 00 AA 55 33 46'), undefined));
  const second = expectOk(hr.decode(bytes('00 00 00 00 AA 59 34 46'), first.state));
  assert.ok(second.measurements.some((m) => m.metric === 'rr_interval' && m.value === 1000));
});

test('no decoder throws on random pages or reports a value outside the catalogue, and each refuses every wrong length', () => {
  let seed = 42;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed & 0xff;
  };
  for (const profile of ANT_PROFILES.values()) {
    let state: unknown;
    for (let i = 0; i < 5_000; i++) {
      const page = Uint8Array.from({ length: 8 }, next);
      const result = profile.decode(page, state, { deviceNumber: 1234 });
      if (result.ok) {
        state = result.state;
        for (const m of result.measurements) {
          const { min, max } = METRICS[m.metric];
          assert.ok(Number.isFinite(m.value) && m.value >= min && m.value <= max, `${profile.name} produced ${m.metric} ${m.value} from ${Buffer.from(page).toString('hex')}`);
        }
      }
    }
    for (const length of [0, 1, 7, 9, 16]) assert.equal(profile.decode(new Uint8Array(length), undefined).ok, false, `${profile.name} length ${length}`);
  }
});
