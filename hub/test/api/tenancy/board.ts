/** Tenancy cases of board-operations.ts: gym B's accounts get 404 for gym A's class run, stream and snapshot alike. */
import type { BOARD_OPERATIONS } from '../../../src/api/board-operations.ts';
import { CLASS_RUNS } from '../../../src/domain/sessions/collections.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';
import { runDocument } from '../../domain/test-domain.ts';

const START = Date.UTC(2026, 0, 1, 7);
const RUN_A = `board-spin-a@${START}`;
const RUN_B = `board-spin-b@${START}`;

export const boardTenancy: FeatureTenancy<keyof typeof BOARD_OPERATIONS> = {
  cases: {
    streamClassBoard: { attempts: [{ path: `/api/v1/class-runs/${RUN_A}/board`, targetsA: true }] },
    getClassBoard: { attempts: [{ path: `/api/v1/class-runs/${RUN_A}/board/snapshot`, targetsA: true }] },
  },
  async seed({ domain }) {
    for (const [id, gym] of [
      [RUN_A, GYM_A],
      [RUN_B, GYM_B],
    ] as const) {
      await domain.documents.collection(CLASS_RUNS).insert(runDocument({ id, gym, start: START }));
    }
    return [RUN_A];
  },
  async stateOfA({ domain }) {
    return domain.documents.collection(CLASS_RUNS).get(RUN_A);
  },
};
