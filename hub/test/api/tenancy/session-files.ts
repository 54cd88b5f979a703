/** Tenancy cases of session-files-operations.ts: every operation is about the caller's own sessions. */
import type { SESSION_FILES_OPERATIONS } from '../../../src/api/session-files-operations.ts';
import type { Domain } from '../../../src/domain/domain.ts';
import { SESSIONS, SESSION_SAMPLES } from '../../../src/domain/sessions/collections.ts';
import { saveImportedStreams } from '../../../src/domain/sessions/sessions.ts';
import { exportWorkout } from '../../../src/files/index.ts';
import { GYM_A, type FeatureTenancy } from './tenancy-case.ts';

const A_SESSION = 'imported-of-a';
const START = Date.UTC(2026, 10, 30, 7, 0);

const UPLOAD = {
  contentType: 'application/vnd.garmin.tcx+xml',
  bytes: Buffer.from(exportWorkout({ sport: 'running', startTime: START, samples: [0, 1, 2].map((s) => ({ t: s * 1000, heartrate: 120 + s })) }, 'tcx')),
};

async function seedSession(domain: Domain, id: string, athlete: string): Promise<void> {
  const session = {
    id,
    athlete,
    kind: 'imported' as const,
    name: `run of ${id}`,
    sport: 'running',
    state: 'completed' as const,
    startedAt: START,
    endedAt: START + 3000,
    revision: 1,
    stale: false,
    source: { format: 'fit', fileName: `${id}.fit` },
    sourceSha256: id,
    createdAt: START,
  };
  await domain.documents.transaction(async (tx) => {
    await tx.collection(SESSIONS).insert(session);
    await saveImportedStreams(tx, session, { time: [0, 1, 2], heartrate: [150, 151, 152] });
  });
}

// Imports and archives by B's roles are their own (targetsA: false); A's session by id is refused (404) to everyone of B.
export const sessionFilesTenancy: FeatureTenancy<keyof typeof SESSION_FILES_OPERATIONS> = {
  cases: {
    importMySession: { attempts: [{ method: 'POST', path: '/api/v1/me/sessions/import?name=morning.tcx', upload: UPLOAD, targetsA: false }] },
    exportMySession: {
      attempts: [
        { path: `/api/v1/me/sessions/${A_SESSION}/export?format=fit`, targetsA: true },
        { path: `/api/v1/me/sessions/${A_SESSION}/export?format=gpx`, targetsA: true },
      ],
    },
    exportMyData: { attempts: [{ path: '/api/v1/me/export', targetsA: false }] },
  },
  async seed({ domain, accounts }) {
    await seedSession(domain, A_SESSION, accounts[GYM_A].athlete);
    await seedSession(domain, 'imported-of-b', accounts['gym-b'].athlete);
    return [A_SESSION];
  },
  async stateOfA({ domain, accounts }) {
    const athlete = accounts[GYM_A].athlete;
    return {
      sessions: await domain.documents.collection(SESSIONS).find({ athlete }),
      samples: await domain.documents.collection(SESSION_SAMPLES).find({ athlete }),
    };
  },
};
