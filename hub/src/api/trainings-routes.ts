/** Handlers of trainings-operations.ts. */
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { Domain } from '../domain/domain.ts';
import { TRAININGS } from '../domain/trainings/collections.ts';
import { stepsProblems, totalDurationSeconds, type Steps } from '../domain/trainings/steps.ts';
import type { DocumentOf } from '../documents/document-store.ts';
import { API_PREFIX } from './operation.ts';
import { listPage } from './pages.ts';
import { ApiError, invalidParameter } from './problem.ts';
import { isoTime, principalOf, resourceGym } from './self.ts';
import type { RouteModule } from './route-module.ts';
import type { Training, TRAININGS_OPERATIONS } from './trainings-operations.ts';

type TrainingDoc = DocumentOf<(typeof TRAININGS)['schema']>;

function toTraining(doc: TrainingDoc): Static<typeof Training> {
  const { createdBy: _createdBy, createdAt, updatedAt, ...training } = doc;
  return { ...training, createdAt: isoTime(createdAt), updatedAt: isoTime(updatedAt) };
}

/** The steps as stored: checked beyond their schema, with their planned duration. */
function checkedSteps(steps: Steps): { steps: Steps; totalDurationSeconds?: number } {
  const [problem] = stepsProblems(steps);
  if (problem !== undefined) throw invalidParameter('steps', problem);
  const total = totalDurationSeconds(steps);
  return total === undefined ? { steps } : { steps, totalDurationSeconds: total };
}

export function trainingsRoutes(domain: Domain): RouteModule<typeof TRAININGS_OPERATIONS> {
  const trainings = domain.documents.collection(TRAININGS);

  async function existing(id: string, gym: string): Promise<TrainingDoc> {
    const doc = await trainings.get(id);
    if (doc === undefined || doc.gym !== gym) throw new ApiError('not_found', `no training with id ${id}`);
    return doc;
  }

  async function save(doc: TrainingDoc): Promise<TrainingDoc> {
    const { totalDurationSeconds: _old, ...rest } = doc;
    const next: TrainingDoc = { ...rest, ...checkedSteps(doc.steps), updatedAt: domain.now() };
    if (!(await trainings.replace(next, { gym: doc.gym }))) throw new ApiError('not_found', `no training with id ${doc.id}`);
    return next;
  }

  return {
    handlers: {
      listTrainings: async (ctx, { query }) => {
        await listPage(ctx, {
          collection: trainings,
          where: { ...(query.gym === undefined ? {} : { gym: query.gym }), ...(query.sport === undefined ? {} : { sport: query.sport }) },
          orderBy: ['name'],
          query,
          path: `${API_PREFIX}/trainings`,
          params: { gym: query.gym, sport: query.sport },
          toItem: toTraining,
        });
      },
      createTraining: async (ctx, { body }) => {
        const at = domain.now();
        const doc: TrainingDoc = {
          id: randomUUID(),
          gym: body.gym!,
          name: body.name,
          description: body.description ?? '',
          sport: body.sport,
          ...checkedSteps(body.steps),
          createdBy: principalOf(ctx).subject,
          createdAt: at,
          updatedAt: at,
        };
        await trainings.insert(doc);
        ctx.status = 201;
        ctx.body = toTraining(doc);
      },
      getTraining: async (ctx, { params }) => {
        ctx.body = toTraining(await existing(params.id, resourceGym(ctx)));
      },
      putTraining: async (ctx, { params, body }) => {
        const doc = await existing(params.id, resourceGym(ctx));
        ctx.body = toTraining(await save({ ...doc, ...body, description: body.description ?? '' }));
      },
      patchTraining: async (ctx, { params, body }) => {
        const doc = await existing(params.id, resourceGym(ctx));
        ctx.body = toTraining(await save({ ...doc, ...body }));
      },
      deleteTraining: async (ctx, { params }) => {
        const gym = resourceGym(ctx);
        if ((await trainings.delete({ id: params.id, gym })) === 0) throw new ApiError('not_found', `no training with id ${params.id}`);
        ctx.status = 204;
      },
    },
  };
}
