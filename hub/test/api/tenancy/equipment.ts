/** Tenancy cases of equipment-operations.ts. */
import type { EQUIPMENT_OPERATIONS } from '../../../src/api/equipment-operations.ts';
import { EQUIPMENT, EQUIPMENT_LOG, EQUIPMENT_SENSORS, EQUIPMENT_TYPES } from '../../../src/domain/equipment/collections.ts';
import { BINDINGS } from '../../../src/domain/pairing/collections.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';

const TYPE_A = 'type-of-a';
const ITEM_A = 'item-of-a';
const SCHEMA = { type: 'object', properties: { resistanceLevels: { type: 'integer' } } };

export const equipmentTenancy: FeatureTenancy<keyof typeof EQUIPMENT_OPERATIONS> = {
  cases: {
    listEquipmentTypes: {
      attempts: [
        { path: `/api/v1/equipment-types?gym=${GYM_A}`, targetsA: true },
        { path: '/api/v1/equipment-types', targetsA: false },
      ],
    },
    createEquipmentType: {
      attempts: [{ method: 'POST', path: '/api/v1/equipment-types', body: { gym: GYM_A, name: 'Planted', kind: 'bike', attributesSchema: SCHEMA }, targetsA: true }],
    },
    getEquipmentType: { attempts: [{ path: `/api/v1/equipment-types/${TYPE_A}`, targetsA: true }] },
    putEquipmentType: {
      attempts: [{ method: 'PUT', path: `/api/v1/equipment-types/${TYPE_A}`, body: { name: 'Renamed', kind: 'rower', attributesSchema: SCHEMA }, targetsA: true }],
    },
    deleteEquipmentType: { attempts: [{ method: 'DELETE', path: `/api/v1/equipment-types/${TYPE_A}`, targetsA: true }] },
    listEquipment: {
      attempts: [
        { path: `/api/v1/equipment?gym=${GYM_A}`, targetsA: true },
        { path: `/api/v1/equipment?type=${TYPE_A}`, targetsA: false },
        { path: '/api/v1/equipment', targetsA: false },
      ],
    },
    createEquipment: {
      attempts: [{ method: 'POST', path: '/api/v1/equipment', body: { gym: GYM_A, name: 'Planted', type: TYPE_A, serial: 'PLANTED-1' }, targetsA: true }],
    },
    getEquipment: { attempts: [{ path: `/api/v1/equipment/${ITEM_A}`, targetsA: true }] },
    patchEquipment: { attempts: [{ method: 'PATCH', path: `/api/v1/equipment/${ITEM_A}`, body: { name: 'Taken over', builtIn: [] }, targetsA: true }] },
    deleteEquipment: { attempts: [{ method: 'DELETE', path: `/api/v1/equipment/${ITEM_A}`, targetsA: true }] },
    setEquipmentStatus: { attempts: [{ method: 'POST', path: `/api/v1/equipment/${ITEM_A}/status`, body: { status: 'out_of_order', note: 'from B' }, targetsA: true }] },
    listMaintenance: { attempts: [{ path: `/api/v1/equipment/${ITEM_A}/maintenance`, targetsA: true }] },
    useEquipment: { attempts: [{ method: 'POST', path: `/api/v1/equipment/${ITEM_A}/use`, body: { minutes: 30 }, targetsA: true }] },
    releaseEquipment: { attempts: [{ method: 'DELETE', path: `/api/v1/equipment/${ITEM_A}/use`, targetsA: true }] },
  },
  async seed({ domain, accounts }) {
    const at = Date.UTC(2026, 0, 1);
    for (const [gym, type, item, typeName, name, serial, sensor] of [
      [GYM_A, TYPE_A, ITEM_A, 'Wattbike of A', 'Bike by the window of A', 'SERIAL-OF-A', 'ble:a0-a0-a0-a0-a0-a0'],
      [GYM_B, 'type-of-b', 'item-of-b', 'Concept2', 'Rower 1', 'SERIAL-B', 'ble:b0-b0-b0-b0-b0-b0'],
    ] as const) {
      await domain.documents.collection(EQUIPMENT_TYPES).insert({ id: type, gym, name: typeName, kind: 'bike', attributesSchema: SCHEMA, createdAt: at, updatedAt: at });
      await domain.documents.collection(EQUIPMENT).insert({
        id: item,
        gym,
        name,
        type,
        serial,
        location: `Floor of ${gym}`,
        status: 'in_service',
        attributes: { resistanceLevels: 24 },
        builtIn: [{ sensor, role: 'power' }],
        sensors: [sensor],
        logged: 1,
        createdAt: at,
        updatedAt: at,
      });
      await domain.documents.collection(EQUIPMENT_SENSORS).insert({ id: `claim-${item}`, gym, sensor, equipment: item });
      await domain.documents
        .collection(EQUIPMENT_LOG)
        .insert({ id: `log-${item}`, gym, equipment: item, seq: 0, at, by: `admin-of-${gym}`, to: 'in_service', note: `Installed at ${gym}` });
    }
    // A's athlete is on A's bike: B may neither end that use nor take the bike.
    const athlete = accounts[GYM_A].athlete;
    await domain.documents.collection(BINDINGS).insert({
      id: 'use-of-a',
      gym: GYM_A,
      sensor: 'ble:a0-a0-a0-a0-a0-a0',
      athlete,
      active: true,
      from: at,
      kind: 'equipment',
      label: 'Bike by the window of A',
      equipment: ITEM_A,
      createdBy: athlete,
    });
    return [TYPE_A, ITEM_A, 'Wattbike of A', 'Bike by the window of A', 'SERIAL-OF-A', 'a0-a0-a0', `Floor of ${GYM_A}`, `Installed at ${GYM_A}`];
  },
  async stateOfA({ domain }) {
    const { documents } = domain;
    return {
      types: await documents.collection(EQUIPMENT_TYPES).find({ gym: GYM_A }),
      items: await documents.collection(EQUIPMENT).find({ gym: GYM_A }),
      sensors: await documents.collection(EQUIPMENT_SENSORS).find({ gym: GYM_A }),
      log: await documents.collection(EQUIPMENT_LOG).find({ gym: GYM_A }),
      uses: await documents.collection(BINDINGS).find({ gym: GYM_A, kind: 'equipment' }),
    };
  },
};
