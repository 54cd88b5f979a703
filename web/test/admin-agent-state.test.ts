import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentState, QUIET_AFTER_MS, SIGNAL_STALE_AFTER_MS, signalQuality, signalShown, sinceInUnits } from '../src/admin/agent-state.ts';

const NOW = Date.parse('2027-03-01T12:00:00Z');
const seenAgo = (ms: number) => new Date(NOW - ms).toISOString();
const agent = { online: true, enrolled: true, disabled: false, lastSeen: seenAgo(5_000) };

test('a connected agent heard from recently is online; silent for longer than the threshold it is quiet', () => {
  assert.equal(agentState(agent, NOW), 'online');
  assert.equal(agentState({ ...agent, lastSeen: seenAgo(QUIET_AFTER_MS) }, NOW), 'online');
  assert.equal(agentState({ ...agent, lastSeen: seenAgo(QUIET_AFTER_MS + 1) }, NOW), 'quiet');
  assert.equal(agentState({ ...agent, lastSeen: seenAgo(60_000) }, NOW, 30_000), 'quiet');
});

test('a disconnected agent is offline however recently it was seen', () => {
  assert.equal(agentState({ ...agent, online: false }, NOW), 'offline');
});

test('disabled and not yet enrolled agents say so before anything else', () => {
  assert.equal(agentState({ ...agent, disabled: true }, NOW), 'disabled');
  assert.equal(agentState({ ...agent, enrolled: false, online: false, lastSeen: null }, NOW), 'awaiting_enrollment');
});

test('an enrolled agent never seen is never seen; an unreadable last-seen trusts the online flag', () => {
  assert.equal(agentState({ ...agent, online: false, lastSeen: null }, NOW), 'never_seen');
  assert.equal(agentState({ ...agent, lastSeen: 'not a date' }, NOW), 'online');
});

test('time since is given in the largest whole unit, and a clock ahead of ours counts as now', () => {
  assert.deepEqual(sinceInUnits(NOW - 59_999, NOW), { value: 59, unit: 'second' });
  assert.deepEqual(sinceInUnits(NOW - 60_000, NOW), { value: 1, unit: 'minute' });
  assert.deepEqual(sinceInUnits(NOW - 3 * 3_600_000 - 1, NOW), { value: 3, unit: 'hour' });
  assert.deepEqual(sinceInUnits(NOW - 2 * 86_400_000, NOW), { value: 2, unit: 'day' });
  assert.deepEqual(sinceInUnits(NOW + 10_000, NOW), { value: 0, unit: 'second' });
});

test('signal in words: strong from -67 dBm up, fair down to -80 dBm, weak below', () => {
  assert.equal(signalQuality(20), 'strong');
  assert.equal(signalQuality(-67), 'strong');
  assert.equal(signalQuality(-68), 'fair');
  assert.equal(signalQuality(-80), 'fair');
  assert.equal(signalQuality(-81), 'weak');
  assert.equal(signalQuality(-127), 'weak');
});

test('a sensor with a fresh signal shows its dBm and words; an old one says since when', () => {
  assert.deepEqual(signalShown({ signalDbm: -67, signalAt: seenAgo(5_000) }, NOW), { dBm: -67, quality: 'strong', staleSince: undefined });
  assert.deepEqual(signalShown({ signalDbm: -85, signalAt: seenAgo(SIGNAL_STALE_AFTER_MS) }, NOW), { dBm: -85, quality: 'weak', staleSince: undefined });
  assert.deepEqual(signalShown({ signalDbm: -72, signalAt: seenAgo(SIGNAL_STALE_AFTER_MS + 1) }, NOW), { dBm: -72, quality: 'fair', staleSince: NOW - SIGNAL_STALE_AFTER_MS - 1 });
  assert.deepEqual(signalShown({ signalDbm: -72 }, NOW), { dBm: -72, quality: 'fair', staleSince: undefined }, 'no time: shown, not judged stale');
});

test('a sensor whose radio reports no signal (ANT+, serial, an older agent) shows none', () => {
  assert.equal(signalShown({}, NOW), undefined);
  assert.equal(signalShown({ signalAt: seenAgo(1_000) }, NOW), undefined);
  assert.equal(signalShown({ signalDbm: Number.NaN }, NOW), undefined);
});
