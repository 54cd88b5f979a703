/** Tenancy cases of pairing-operations.ts. */
import type { CollectionSpec } from '../../../src/documents/document-store.ts';
import type { PAIRING_OPERATIONS } from '../../../src/api/pairing-operations.ts';
import { BINDINGS, GYM_SENSORS, PAIRING_WINDOWS } from '../../../src/domain/pairing/collections.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';

const A = {
  ownSensor: 'ble:a0-a0-a0-a0-a0-01',
  loanerSensor: 'ant:120:4242:1',
  binding: 'binding-of-a',
  gymSensor: 'gym-sensor-of-a',
  window: 'window-of-a',
  ownLabel: 'Chest strap of A',
  loanerLabel: 'Loaner 7 of A',
};

export const pairingTenancy: FeatureTenancy<keyof typeof PAIRING_OPERATIONS> = {
  cases: {
    listMySensors: { attempts: [{ path: '/api/v1/me/sensors', targetsA: false }] },
    claimSensor: { attempts: [{ method: 'POST', path: '/api/v1/me/sensors', body: { gym: GYM_A, sensor: 'ble:b0-b0-b0-b0-b0-99' }, targetsA: true }] },
    unpairSensor: { attempts: [{ method: 'DELETE', path: `/api/v1/me/sensors/${A.binding}`, targetsA: true }] },
    openDiscovery: { attempts: [{ method: 'POST', path: '/api/v1/me/sensors/discover', body: { gym: GYM_A }, targetsA: true }] },
    getDiscovery: { attempts: [{ path: `/api/v1/me/sensors/discover/${A.window}`, targetsA: true }] },
    listGymSensors: {
      attempts: [
        { path: `/api/v1/gym-sensors?gym=${GYM_A}`, targetsA: true },
        { path: '/api/v1/gym-sensors', targetsA: false },
      ],
    },
    createGymSensor: { attempts: [{ method: 'POST', path: '/api/v1/gym-sensors', body: { gym: GYM_A, sensor: 'ant:120:999:1' }, targetsA: true }] },
    getGymSensor: { attempts: [{ path: `/api/v1/gym-sensors/${A.gymSensor}`, targetsA: true }] },
    patchGymSensor: { attempts: [{ method: 'PATCH', path: `/api/v1/gym-sensors/${A.gymSensor}`, body: { label: 'Taken over' }, targetsA: true }] },
    deleteGymSensor: { attempts: [{ method: 'DELETE', path: `/api/v1/gym-sensors/${A.gymSensor}`, targetsA: true }] },
    lendGymSensor: {
      attempts: [
        { method: 'POST', path: `/api/v1/gym-sensors/${A.gymSensor}/loans`, body: { athlete: 'USER_B_ATHLETE', until: '2099-01-01T10:00:00Z' }, targetsA: true },
        { method: 'POST', path: `/api/v1/gym-sensors/${A.gymSensor}/loans`, body: { athlete: 'USER_A_ATHLETE', until: '2099-01-01T10:00:00Z' }, targetsA: true },
      ],
    },
    listBindings: {
      attempts: [
        { path: `/api/v1/gyms/${GYM_A}/bindings`, targetsA: true },
        { path: `/api/v1/gyms/${GYM_A}/bindings?active=true&sensor=${A.ownSensor}`, targetsA: true },
      ],
    },
    permitJoin: { attempts: [{ method: 'POST', path: `/api/v1/gyms/${GYM_A}/permit-join`, body: { seconds: 60 }, targetsA: true }] },
    getAllowlist: { attempts: [{ path: `/api/v1/gyms/${GYM_A}/allowlist`, targetsA: true }] },
  },
  async seed({ domain, accounts }) {
    const at = Date.UTC(2026, 0, 1);
    const gymSensor = (gym: string, id: string, sensor: string, label: string) => ({ id, gym, sensor, kind: 'heart_rate', label, createdAt: at, updatedAt: at });
    await domain.documents.collection(GYM_SENSORS).insert(gymSensor(GYM_A, A.gymSensor, A.loanerSensor, A.loanerLabel));
    await domain.documents.collection(GYM_SENSORS).insert(gymSensor(GYM_B, 'gym-sensor-of-b', 'ant:120:5353:1', 'Loaner 3 of B'));
    for (const [gym, id, sensor, label] of [
      [GYM_A, A.binding, A.ownSensor, A.ownLabel],
      [GYM_B, 'binding-of-b', 'ble:b0-b0-b0-b0-b0-01', 'Chest strap of B'],
    ] as const) {
      const athlete = accounts[gym].athlete;
      await domain.documents.collection(BINDINGS).insert({ id, gym, sensor, athlete, active: true, from: at, kind: 'own', label, createdBy: athlete });
    }
    // A's loaner strap was lent to B's athlete once, in A: it must still not show to B's athlete as theirs now.
    await domain.documents.collection(BINDINGS).insert({
      id: 'loan-of-a',
      gym: GYM_A,
      sensor: A.loanerSensor,
      athlete: accounts[GYM_A].athlete,
      active: false,
      from: at - 7_200_000,
      until: at - 3_600_000,
      kind: 'loaner',
      gymSensor: A.gymSensor,
      createdBy: accounts[GYM_A].coach,
    });
    for (const [gym, id] of [
      [GYM_A, A.window],
      [GYM_B, 'window-of-b'],
    ] as const) {
      await domain.documents
        .collection(PAIRING_WINDOWS)
        .insert({ id, gym, athlete: accounts[gym].athlete, openedAt: at, until: Date.UTC(2099, 0, 1), expiresAt: Date.UTC(2099, 0, 1) });
    }
    return [A.ownSensor, A.loanerSensor, A.binding, A.gymSensor, A.window, A.ownLabel, A.loanerLabel, 'loan-of-a'];
  },
  async stateOfA({ domain }) {
    const of = async (collection: CollectionSpec) => await domain.documents.collection(collection).find({ gym: GYM_A });
    return { bindings: await of(BINDINGS), gymSensors: await of(GYM_SENSORS), windows: await of(PAIRING_WINDOWS) };
  },
};
