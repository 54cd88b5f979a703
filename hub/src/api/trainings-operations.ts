/** The operations table of workout templates: steps with targets by heart-rate zone, power or pace, and repeats. */
import { Type } from '@sinclair/typebox';
import { MEMBERS, STAFF } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { pageSchema, PageQueryFields } from './pages.ts';
import { GymParam } from './schemas.ts';
import { SPORTS } from '../domain/trainings/collections.ts';
import { Steps } from '../domain/trainings/steps.ts';

export const TRAINING_BODY_LIMIT_BYTES = 64 * 1024;

export const Sport = Type.Union(
  SPORTS.map((sport) => Type.Literal(sport)),
  { description: SPORTS.join(', ') },
);
export const IdPath = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'a training id' }) }, { additionalProperties: false });

const TrainingFields = {
  name: Type.String({ minLength: 1, maxLength: 128, description: 'What the gym calls the workout' }),
  description: Type.String({ maxLength: 4000, description: 'Free text for coaches and athletes' }),
  sport: Sport,
  steps: Steps,
};

export const Training = Type.Object({
  id: Type.String(),
  gym: Type.String(),
  ...TrainingFields,
  totalDurationSeconds: Type.Optional(Type.Integer({ description: 'The planned duration; absent when a step goes by distance' })),
  createdAt: Type.String({ format: 'date-time', description: 'When it was created, ISO 8601 UTC' }),
  updatedAt: Type.String({ format: 'date-time', description: 'When it was last changed, ISO 8601 UTC' }),
});

export const TrainingBody = Type.Object(
  { ...TrainingFields, description: Type.Optional(TrainingFields.description), gym: Type.Optional(GymParam) },
  { additionalProperties: false },
);
export const TrainingPutBody = Type.Object({ ...TrainingFields, description: Type.Optional(TrainingFields.description) }, { additionalProperties: false });
export const TrainingPatchBody = Type.Partial(Type.Object(TrainingFields), { additionalProperties: false, minProperties: 1 });
export const TrainingsQuery = Type.Object({ ...PageQueryFields, gym: Type.Optional(GymParam), sport: Type.Optional(Sport) }, { additionalProperties: false });

const response = (description: string, status?: 201) => ({ description, contentType: JSON_TYPE, schema: Training, ...(status ? { status } : {}) });

export const TRAININGS_OPERATIONS = {
  listTrainings: {
    operationId: 'listTrainings',
    path: `${API_PREFIX}/trainings`,
    tag: 'trainings',
    summary: "A gym's workout templates, by name",
    access: { roles: MEMBERS, scope: 'gym:read', gym: 'query' },
    query: TrainingsQuery,
    response: { description: 'A page of trainings', contentType: JSON_TYPE, schema: pageSchema(Training, 'Trainings by name') },
    problems: ['invalid_parameter', 'unavailable'],
  },
  createTraining: {
    operationId: 'createTraining',
    method: 'post',
    path: `${API_PREFIX}/trainings`,
    tag: 'trainings',
    summary: 'Creates a workout template in a gym (coaches and gym admins)',
    description: 'Every step has a duration or a distance, never both; ranges of targets have low <= high; repeats nest at most two deep.',
    access: { roles: STAFF, scope: 'gym:write', gym: 'body' },
    body: TrainingBody,
    bodyLimitBytes: TRAINING_BODY_LIMIT_BYTES,
    response: response('The new training', 201),
    problems: ['invalid_parameter', 'unavailable'],
  },
  getTraining: {
    operationId: 'getTraining',
    path: `${API_PREFIX}/trainings/:id`,
    tag: 'trainings',
    summary: 'A workout template',
    access: { roles: MEMBERS, scope: 'gym:read', gym: { resource: 'training' } },
    params: IdPath,
    response: response('The training'),
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  putTraining: {
    operationId: 'putTraining',
    method: 'put',
    path: `${API_PREFIX}/trainings/:id`,
    tag: 'trainings',
    summary: 'Replaces a workout template (coaches and gym admins)',
    access: { roles: STAFF, scope: 'gym:write', gym: { resource: 'training' } },
    params: IdPath,
    body: TrainingPutBody,
    bodyLimitBytes: TRAINING_BODY_LIMIT_BYTES,
    response: response('The saved training'),
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  patchTraining: {
    operationId: 'patchTraining',
    method: 'patch',
    path: `${API_PREFIX}/trainings/:id`,
    tag: 'trainings',
    summary: 'Changes some fields of a workout template (coaches and gym admins); steps are replaced whole',
    access: { roles: STAFF, scope: 'gym:write', gym: { resource: 'training' } },
    params: IdPath,
    body: TrainingPatchBody,
    bodyLimitBytes: TRAINING_BODY_LIMIT_BYTES,
    response: response('The saved training'),
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  deleteTraining: {
    operationId: 'deleteTraining',
    method: 'delete',
    path: `${API_PREFIX}/trainings/:id`,
    tag: 'trainings',
    summary: 'Deletes a workout template (coaches and gym admins)',
    access: { roles: STAFF, scope: 'gym:write', gym: { resource: 'training' } },
    params: IdPath,
    response: { description: 'Deleted', contentType: JSON_TYPE, status: 204 },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
