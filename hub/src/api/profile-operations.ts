/** The operations table of the caller's own athlete profile: personal data kept with identity in the SQL store, and max heart rate. */
import { Type } from '@sinclair/typebox';
import { BOARD_VISIBILITY, RESULTS_VISIBILITY, SEXES } from '../identity/identity-store.ts';
import { MEMBERS } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';

const literals = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((value) => Type.Literal(value)),
    { description },
  );

const ProfileFields = {
  birthDate: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD; gives the age for the max heart rate formula' })),
  sex: Type.Optional(literals(SEXES, 'female, male or unspecified; used by calorie formulas')),
  weightKg: Type.Optional(Type.Number({ minimum: 20, maximum: 400, description: 'Body weight, kg; used by calorie formulas' })),
  heightCm: Type.Optional(Type.Number({ minimum: 50, maximum: 260 })),
  maxHeartRate: Type.Optional(Type.Integer({ minimum: 100, maximum: 240, description: 'Measured in a test, bpm; wins over the age formula' })),
  restingHeartRate: Type.Optional(Type.Integer({ minimum: 25, maximum: 120, description: 'bpm' })),
  ftpWatts: Type.Optional(Type.Integer({ minimum: 30, maximum: 700, description: 'Functional threshold power, watts; for power targets in % of FTP' })),
  resultsVisibility: literals(RESULTS_VISIBILITY, 'Who may see my results: only_me, friends, gym (members of my gyms) or everyone signed in'),
  boardVisibility: literals(BOARD_VISIBILITY, 'How I show on live class boards: by name, by my alias, or hidden'),
  boardAlias: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'Shown instead of my name when boardVisibility is alias' })),
};

const LEADERBOARDS_DESCRIPTION = 'Listed on class and group leaderboards, to those who may see my results (opt-in)';

export const ProfileBody = Type.Object(
  {
    displayName: Type.String({ minLength: 1, maxLength: 200, description: 'The name other people see' }),
    ...ProfileFields,
    leaderboards: Type.Optional(Type.Boolean({ description: `${LEADERBOARDS_DESCRIPTION}; absent: false` })),
  },
  { additionalProperties: false },
);

export const MaxHeartRateSchema = Type.Union(
  [
    Type.Object({ bpm: Type.Integer(), source: Type.Literal('test') }),
    Type.Object({
      bpm: Type.Integer(),
      source: Type.Literal('formula'),
      formula: Type.Literal('tanaka', { description: '208 - 0.7 x age (Tanaka, Monahan and Seals, 2001)' }),
      age: Type.Integer(),
    }),
    Type.Null(),
  ],
  { description: 'The max heart rate zones are computed on: measured, else from age; null without either' },
);

export const Profile = Type.Object({
  userId: Type.String(),
  email: Type.String(),
  displayName: Type.String(),
  ...ProfileFields,
  leaderboards: Type.Boolean({ description: LEADERBOARDS_DESCRIPTION }),
  maxHeartRateInUse: MaxHeartRateSchema,
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Null until the profile is first saved (defaults apply)' }),
});

export const PROFILE_OPERATIONS = {
  getMyProfile: {
    operationId: 'getMyProfile',
    path: `${API_PREFIX}/me/profile`,
    tag: 'profile',
    summary: 'My athlete profile, with the max heart rate my zones are computed on',
    access: { roles: MEMBERS, scope: 'me:read', gym: 'self' },
    response: { description: 'The profile', contentType: JSON_TYPE, schema: Profile },
    problems: ['not_found', 'unavailable'],
  },
  putMyProfile: {
    operationId: 'putMyProfile',
    method: 'put',
    path: `${API_PREFIX}/me/profile`,
    tag: 'profile',
    summary: 'Replaces my athlete profile: fields left out become unknown',
    access: { roles: MEMBERS, scope: 'me:write', gym: 'self' },
    body: ProfileBody,
    response: { description: 'The saved profile', contentType: JSON_TYPE, schema: Profile },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
