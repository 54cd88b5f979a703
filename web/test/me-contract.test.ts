/**
 * The athlete pages' fixtures are real API answers: each is checked against the schema the hub answers with
 * (the OpenAPI document is generated from the same schemas), so a renamed field fails here, not in a browser.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ResultsSchema, SessionSchema } from '../../hub/src/api/sessions-schemas.ts';
import { SessionStreamsSchema } from '../../hub/src/api/sessions-operations.ts';
import { Profile as ProfileSchema } from '../../hub/src/api/profile-operations.ts';
import { Binding as BindingSchema, Discovery as DiscoverySchema } from '../../hub/src/api/pairing-operations.ts';
import { BookingSchema } from '../../hub/src/api/classes-operations.ts';
import type { Binding, Booking, Discovery, Profile, Results, Session, SessionStreams } from '../src/me/types.ts';

// The hub answers ISO 8601 instants (isoTime); TypeBox knows no formats until one is registered.
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)) && /^\d{4}-\d{2}-\d{2}T/.test(value));

const results: Results = {
  durationS: 1800,
  heartRate: {
    averageBpm: 140,
    maxBpm: 172,
    maxHeartRateUsed: 190,
    maxHeartRateSource: 'age',
    secondsInZone: [1, 2, 3, 4, 5],
    effortPointsByZone: [1, 2, 3, 4, 5],
    effortPoints: 15,
  },
  calories: { unavailable: 'the profile has no weight' },
  power: { averageW: 150, maxW: 400 },
  distanceM: 5000,
  averagePaceSPerKm: 300,
  averageSpeedMps: 3.3,
  elevationGainM: 12,
  records: { bestPowerW: { '60': 300 }, fastestS: { '1000': 280 } },
};

function assertValid(schema: Parameters<typeof Value.Check>[0], value: unknown): void {
  const errors = [...Value.Errors(schema, value)].map((e) => `${e.path}: ${e.message}`);
  assert.deepEqual(errors, []);
}

test('the results, session and streams the pages read match the hub’s schemas', () => {
  assertValid(ResultsSchema, results);
  const session: Session = {
    id: 's1',
    athlete: 'u1',
    kind: 'imported',
    name: 'Morning run',
    sport: 'running',
    state: 'completed',
    startedAt: '2026-03-05T06:00:00.000Z',
    endedAt: '2026-03-05T06:30:00.000Z',
    revision: 2,
    changedAt: '2026-03-05T07:00:00.000Z',
    recomputing: false,
    results,
    source: { format: 'gpx', fileName: 'run.gpx' },
  };
  assertValid(SessionSchema, session);
  const series = (data: unknown[]) => ({ data, seriesType: 'time' as const, originalSize: 2, resolution: 'medium' });
  const streams: SessionStreams = {
    session: 's1',
    revision: 2,
    resolution: 'medium',
    originalSize: 2,
    size: 2,
    streams: { time: series([0, 1]) as never, heartrate: series([120, null]) as never, latlng: series([[55.7, 37.6], null]) as never },
  };
  assertValid(SessionStreamsSchema, streams);
});

test('the profile, bookings, bindings and discovery the pages read match the hub’s schemas', () => {
  const profile: Profile = {
    userId: 'u1',
    email: 'a@example.test',
    displayName: 'Ann',
    weightKg: 60,
    resultsVisibility: 'friends',
    boardVisibility: 'alias',
    boardAlias: 'Rocket',
    leaderboards: false,
    maxHeartRateInUse: { bpm: 186, source: 'formula', formula: 'tanaka', age: 31 },
    updatedAt: null,
  };
  assertValid(ProfileSchema, profile);
  const booking: Booking = {
    id: 'b1',
    class: 'c1',
    className: 'Spin',
    gym: 'g1',
    start: '2026-03-05T06:00:00.000Z',
    startsAt: '2026-03-05T06:00:00.000Z',
    user: 'u1',
    status: 'waitlisted',
    position: 2,
    checkedIn: false,
    createdAt: '2026-03-01T06:00:00.000Z',
  };
  assertValid(BookingSchema, booking);
  const binding: Binding = { id: 'x1', gym: 'g1', sensor: 'ble:aa-bb-cc-dd-ee-ff', athlete: 'u1', kind: 'own', active: true, from: '2026-03-01T06:00:00.000Z', label: 'my strap' };
  assertValid(BindingSchema, binding);
  const discovery: Discovery = {
    windowId: 'w1',
    gym: 'g1',
    until: '2026-03-01T06:00:30.000Z',
    open: true,
    candidates: [{ sensor: 'ble:aa-bb-cc-dd-ee-ff', kind: 'heart_rate', rssi: -50, agent: 'a1', seenAt: '2026-03-01T06:00:10.000Z' }],
  };
  assertValid(DiscoverySchema, discovery);
});
