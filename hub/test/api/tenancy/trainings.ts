/** Tenancy cases of trainings-operations.ts. */
import type { TRAININGS_OPERATIONS } from '../../../src/api/trainings-operations.ts';
import { TRAININGS } from '../../../src/domain/trainings/collections.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';

const A_TRAINING = 'training-of-a';
const A_NAME = 'Sweet Spot Ladder of A';
const steps = [{ type: 'step', kind: 'work', durationSeconds: 600 }] as const;
const body = { name: 'Taken over', sport: 'cycling', steps };

export const trainingsTenancy: FeatureTenancy<keyof typeof TRAININGS_OPERATIONS> = {
  cases: {
    listTrainings: {
      attempts: [
        { path: `/api/v1/trainings?gym=${GYM_A}`, targetsA: true },
        { path: '/api/v1/trainings', targetsA: false },
      ],
    },
    createTraining: { attempts: [{ method: 'POST', path: '/api/v1/trainings', body: { ...body, gym: GYM_A }, targetsA: true }] },
    getTraining: { attempts: [{ path: `/api/v1/trainings/${A_TRAINING}`, targetsA: true }] },
    putTraining: { attempts: [{ method: 'PUT', path: `/api/v1/trainings/${A_TRAINING}`, body, targetsA: true }] },
    patchTraining: { attempts: [{ method: 'PATCH', path: `/api/v1/trainings/${A_TRAINING}`, body: { name: 'Taken over' }, targetsA: true }] },
    deleteTraining: { attempts: [{ method: 'DELETE', path: `/api/v1/trainings/${A_TRAINING}`, targetsA: true }] },
  },
  async seed({ domain, accounts }) {
    const at = Date.UTC(2026, 0, 1);
    for (const [id, gym, name] of [
      [A_TRAINING, GYM_A, A_NAME],
      ['training-of-b', GYM_B, 'Hill Repeats'],
    ] as const) {
      await domain.documents.collection(TRAININGS).insert({
        id,
        gym,
        name,
        description: '',
        sport: 'cycling',
        steps: [{ type: 'step', kind: 'work', durationSeconds: 600 }],
        totalDurationSeconds: 600,
        createdBy: accounts[gym].coach,
        createdAt: at,
        updatedAt: at,
      });
    }
    return [A_NAME];
  },
  async stateOfA({ domain }) {
    return domain.documents.collection(TRAININGS).find({ gym: GYM_A });
  },
};
