/** Settings of sessions: the schedule and late-readings rounds, and the live class board. */
import { Type, type Static } from '@sinclair/typebox';

export const SessionsConfig = Type.Object(
  {
    scheduleIntervalMs: Type.Integer({
      minimum: 100,
      default: 15_000,
      description: 'How often runs of classes that began are started and runs past their end are ended (they start from their scheduled time whenever noticed)',
    }),
    lateIntervalMs: Type.Integer({ minimum: 10, default: 1_000, description: 'How often late readings are matched to completed sessions, whose results are then computed again' }),
    leaseMs: Type.Integer({ minimum: 1_000, default: 60_000, description: 'How long one hub holds a session it recomputes; after it, another hub takes it over' }),
    boardTickMs: Type.Integer({ minimum: 100, maximum: 1_000, default: 1_000, description: 'How often a live class board sends its tiles (at least once a second)' }),
    quietAfterMs: Type.Integer({ minimum: 1_000, default: 5_000, description: 'A sensor with no reading for this long shows as quiet on live boards' }),
  },
  { additionalProperties: false, default: {} },
);
export type SessionsConfig = Static<typeof SessionsConfig>;
