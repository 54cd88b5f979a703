/** Handlers of equipment-operations.ts. */
import { canonicalSensorId } from '@pulsebridge/protocol';
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { Domain } from '../domain/domain.ts';
import type { DocumentSession } from '../documents/document-store.ts';
import { MAX_FIND } from '../documents/document-store.ts';
import { attributesProblem, attributesSchemaProblem, type JsonSchemaObject } from '../domain/equipment/attribute-schemas.ts';
import {
  EQUIPMENT,
  EQUIPMENT_LOG,
  EQUIPMENT_SENSORS,
  EQUIPMENT_TYPES,
  type BuiltInSensor,
  type EquipmentDoc,
  type EquipmentLogDoc,
  type EquipmentStatus,
  type EquipmentTypeDoc,
} from '../domain/equipment/collections.ts';
import { gymsWithRoles } from '../auth/principal.ts';
import { BINDINGS } from '../domain/pairing/collections.ts';
import type { Binding } from '../domain/pairing/bindings.ts';
import { STAFF } from './access.ts';
import type { ApiContext } from './context.ts';
import { EQUIPMENT_OPERATIONS, type Equipment, type EquipmentType, type EquipmentUse, type MaintenanceEntry } from './equipment-operations.ts';
import { API_PREFIX } from './operation.ts';
import { listPage } from './pages.ts';
import { ApiError, invalidParameter } from './problem.ts';
import type { RouteModule } from './route-module.ts';
import { isoTime, principalOf, resourceGym } from './self.ts';

type TypeBody = Static<typeof EquipmentType>;
type EquipmentBody = Static<typeof Equipment>;
type EntryBody = Static<typeof MaintenanceEntry>;
type UseBody = Static<typeof EquipmentUse>;

const toType = (doc: EquipmentTypeDoc): TypeBody => ({
  id: doc.id,
  gym: doc.gym,
  name: doc.name,
  kind: doc.kind,
  attributesSchema: doc.attributesSchema,
  createdAt: isoTime(doc.createdAt),
  updatedAt: isoTime(doc.updatedAt),
});

const toEquipment = (doc: EquipmentDoc): EquipmentBody => ({
  id: doc.id,
  gym: doc.gym,
  name: doc.name,
  type: doc.type,
  serial: doc.serial,
  ...(doc.location === undefined ? {} : { location: doc.location }),
  status: doc.status,
  attributes: doc.attributes,
  builtIn: doc.builtIn,
  sensors: doc.sensors,
  createdAt: isoTime(doc.createdAt),
  updatedAt: isoTime(doc.updatedAt),
});

const toEntry = (doc: EquipmentLogDoc): EntryBody => ({
  id: doc.id,
  at: isoTime(doc.at),
  by: doc.by,
  ...(doc.from === undefined ? {} : { from: doc.from }),
  to: doc.to,
  ...(doc.note === undefined ? {} : { note: doc.note }),
});

/** A use as answered: the bindings of one machine's sensors to one athlete, made together. */
const toUse = (item: EquipmentDoc, bindings: readonly Binding[]): UseBody => {
  const [first] = bindings as [Binding];
  return {
    equipment: item.id,
    athlete: first.athlete,
    sensors: bindings.map((binding) => binding.sensor),
    from: isoTime(first.from),
    ...(first.until === undefined ? {} : { until: isoTime(first.until) }),
    active: first.active,
  };
};

function checkSchema(schema: JsonSchemaObject): void {
  const problem = attributesSchemaProblem(schema);
  if (problem !== undefined) throw invalidParameter('attributesSchema', problem);
}

/** The built-in sensors with canonical ids; 400 for an id that is none, or for one sensor listed twice. */
function canonicalBuiltIn(list: readonly BuiltInSensor[]): BuiltInSensor[] {
  const seen = new Set<string>();
  return list.map((entry, i) => {
    const sensor = canonicalSensorId(entry.sensor);
    if (sensor === undefined)
      throw invalidParameter(`builtIn/${i}/sensor`, `${JSON.stringify(entry.sensor.slice(0, 80))} is not a sensor id (<source>:<device>, e.g. ble:c0-ff-ee-00-00-01)`);
    if (seen.has(sensor)) throw invalidParameter(`builtIn/${i}/sensor`, `${sensor} is listed twice`);
    seen.add(sensor);
    return { sensor, role: entry.role };
  });
}

/** The gym's type of that id; 400 when there is none in the gym (another gym's type is no different). */
async function typeInGym(session: DocumentSession, gym: string, id: string): Promise<EquipmentTypeDoc> {
  const type = await session.collection(EQUIPMENT_TYPES).get(id);
  if (type === undefined || type.gym !== gym) throw invalidParameter('type', `no equipment type ${id} in gym ${gym}`);
  return type;
}

function checkAttributes(type: EquipmentTypeDoc, attributes: Record<string, unknown>): void {
  const problem = attributesProblem(type.attributesSchema, attributes);
  if (problem !== undefined) throw new ApiError('invalid_parameter', `${problem.path}: ${problem.message} (schema of equipment type ${type.name})`, { param: problem.path });
}

async function checkSerialFree(session: DocumentSession, gym: string, serial: string, self: string): Promise<void> {
  const holder = await session.collection(EQUIPMENT).findOne({ gym, serial });
  if (holder !== undefined && holder.id !== self) throw new ApiError('conflict', `serial number ${serial} is taken by ${holder.name} (${holder.id})`);
}

/**
 * Makes the claims of `equipment` on sensors exactly `sensors`: a sensor claimed by another machine of the gym
 * is a 409. The unique index on the claims decides between two concurrent claims of one sensor (409 as well).
 */
async function claimSensors(session: DocumentSession, gym: string, equipment: string, sensors: readonly string[]): Promise<void> {
  const claims = session.collection(EQUIPMENT_SENSORS);
  const held = await claims.find({ equipment });
  for (const claim of held) if (!sensors.includes(claim.sensor)) await claims.delete({ id: claim.id });
  for (const sensor of sensors) {
    if (held.some((claim) => claim.sensor === sensor)) continue;
    const other = await claims.findOne({ gym, sensor });
    if (other !== undefined) {
      const machine = await session.collection(EQUIPMENT).get(other.equipment);
      throw new ApiError('conflict', `sensor ${sensor} is built into ${machine?.name ?? 'another machine'} (${other.equipment}) already`);
    }
    await claims.insert({ id: randomUUID(), gym, sensor, equipment });
  }
}

const sameSensors = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((sensor) => b.includes(sensor));

export function equipmentRoutes(domain: Domain): RouteModule<typeof EQUIPMENT_OPERATIONS> {
  const { documents, now, log } = domain;

  /** The gym's agents admit exactly the sensors of its allowlist, built-in ones included: tell them. */
  async function sensorsChanged(gym: string): Promise<void> {
    try {
      await domain.pairing.gymChanged(gym);
    } catch (err) {
      // The change is stored; answering an error would make the client retry a change that happened.
      log.warn({ err, gym }, 'equipment sensors changed but the allowlist could not be published');
    }
  }

  /** Appends to the item's log; the caller stores the item with `logged` one more, in the same transaction. */
  async function logEntry(session: DocumentSession, ctx: ApiContext, item: EquipmentDoc, at: number, to: EquipmentStatus, from?: EquipmentStatus, note?: string): Promise<void> {
    await session.collection(EQUIPMENT_LOG).insert({
      id: randomUUID(),
      gym: item.gym,
      equipment: item.id,
      seq: item.logged,
      at,
      by: principalOf(ctx).subject,
      to,
      ...(from === undefined ? {} : { from }),
      ...(note === undefined ? {} : { note }),
    });
  }

  async function existingItem(session: DocumentSession, ctx: ApiContext, id: string): Promise<EquipmentDoc> {
    const item = await session.collection(EQUIPMENT).get(id);
    if (item === undefined || item.gym !== resourceGym(ctx)) throw new ApiError('not_found', `no equipment with id ${id}`);
    return item;
  }

  /**
   * The machine's bindings that hold now. One whose `until` passed but that the loan sweeper has not ended yet
   * is ended here, so that an expired use never keeps the machine taken.
   */
  async function currentUse(session: DocumentSession, item: EquipmentDoc, at: number): Promise<Binding[]> {
    const bindings = session.collection(BINDINGS);
    const current: Binding[] = [];
    for (const binding of await bindings.find({ equipment: item.id, active: true })) {
      if (binding.until !== undefined && binding.until <= at) await bindings.update({ id: binding.id, active: true }, { set: { active: false } });
      else current.push(binding);
    }
    return current;
  }

  async function existingType(session: DocumentSession, ctx: ApiContext, id: string): Promise<EquipmentTypeDoc> {
    const type = await session.collection(EQUIPMENT_TYPES).get(id);
    if (type === undefined || type.gym !== resourceGym(ctx)) throw new ApiError('not_found', `no equipment type with id ${id}`);
    return type;
  }

  /** How many items of the type the schema refuses, read in pages so that a large gym is checked whole. */
  async function itemsRefusedBy(session: DocumentSession, type: EquipmentTypeDoc, schema: JsonSchemaObject): Promise<number> {
    let refused = 0;
    let after: (string | number | null | boolean)[] | undefined;
    for (;;) {
      const page = await session.collection(EQUIPMENT).find({ gym: type.gym, type: type.id }, { limit: MAX_FIND, ...(after ? { after } : {}) });
      for (const item of page) if (attributesProblem(schema, item.attributes) !== undefined) refused++;
      if (page.length < MAX_FIND) return refused;
      after = [page.at(-1)!.id];
    }
  }

  return {
    handlers: {
      listEquipmentTypes: async (ctx, { query }) => {
        const where = { ...(query.gym === undefined ? {} : { gym: query.gym }), ...(query.kind === undefined ? {} : { kind: query.kind }) };
        await listPage(ctx, {
          collection: documents.collection(EQUIPMENT_TYPES),
          where,
          orderBy: ['name'],
          query,
          path: `${API_PREFIX}/equipment-types`,
          params: { gym: query.gym, kind: query.kind },
          toItem: toType,
        });
      },
      createEquipmentType: async (ctx, { body }) => {
        checkSchema(body.attributesSchema);
        const at = now();
        const doc: EquipmentTypeDoc = { id: randomUUID(), gym: body.gym!, name: body.name, kind: body.kind, attributesSchema: body.attributesSchema, createdAt: at, updatedAt: at };
        const types = documents.collection(EQUIPMENT_TYPES);
        const taken = await types.findOne({ gym: doc.gym, name: doc.name });
        if (taken !== undefined) throw new ApiError('conflict', `the gym has an equipment type named ${doc.name} already (${taken.id})`);
        await types.insert(doc);
        ctx.status = 201;
        ctx.body = toType(doc);
      },
      getEquipmentType: async (ctx, { params }) => {
        ctx.body = toType(await existingType(documents, ctx, params.id));
      },
      putEquipmentType: async (ctx, { params, body }) => {
        checkSchema(body.attributesSchema);
        const saved = await documents.transaction(async (session) => {
          const type = await existingType(session, ctx, params.id);
          const refused = await itemsRefusedBy(session, type, body.attributesSchema);
          if (refused > 0) throw new ApiError('conflict', `${refused} item${refused === 1 ? '' : 's'} of this type would not match the new schema: change their attributes first`);
          const doc: EquipmentTypeDoc = { ...type, name: body.name, kind: body.kind, attributesSchema: body.attributesSchema, updatedAt: now() };
          await session.collection(EQUIPMENT_TYPES).replace(doc);
          return doc;
        });
        ctx.body = toType(saved);
      },
      deleteEquipmentType: async (ctx, { params }) => {
        await documents.transaction(async (session) => {
          const type = await existingType(session, ctx, params.id);
          const used = await session.collection(EQUIPMENT).count({ gym: type.gym, type: type.id });
          if (used > 0) throw new ApiError('conflict', `${used} item${used === 1 ? ' is' : 's are'} of this type: delete or change them first`);
          await session.collection(EQUIPMENT_TYPES).delete({ id: type.id });
        });
        ctx.status = 204;
      },
      listEquipment: async (ctx, { query }) => {
        const filters = { gym: query.gym, type: query.type, status: query.status, location: query.location };
        const where = Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== undefined)) as Record<string, string>;
        await listPage(ctx, {
          collection: documents.collection(EQUIPMENT),
          where,
          orderBy: ['name'],
          query,
          path: `${API_PREFIX}/equipment`,
          params: filters,
          toItem: toEquipment,
        });
      },
      createEquipment: async (ctx, { body }) => {
        const gym = body.gym!;
        const builtIn = canonicalBuiltIn(body.builtIn ?? []);
        const at = now();
        const doc: EquipmentDoc = {
          id: randomUUID(),
          gym,
          name: body.name,
          type: body.type,
          serial: body.serial,
          ...(body.location === undefined ? {} : { location: body.location }),
          status: body.status ?? 'in_service',
          attributes: body.attributes ?? {},
          builtIn,
          sensors: builtIn.map((entry) => entry.sensor),
          logged: 1,
          createdAt: at,
          updatedAt: at,
        };
        await documents.transaction(async (session) => {
          checkAttributes(await typeInGym(session, gym, doc.type), doc.attributes);
          await checkSerialFree(session, gym, doc.serial, doc.id);
          await claimSensors(session, gym, doc.id, doc.sensors);
          await session.collection(EQUIPMENT).insert(doc);
          await logEntry(session, ctx, { ...doc, logged: 0 }, at, doc.status);
        });
        if (doc.sensors.length > 0) await sensorsChanged(gym);
        ctx.status = 201;
        ctx.body = toEquipment(doc);
      },
      getEquipment: async (ctx, { params }) => {
        ctx.body = toEquipment(await existingItem(documents, ctx, params.id));
      },
      patchEquipment: async (ctx, { params, body }) => {
        const builtIn = body.builtIn === undefined ? undefined : canonicalBuiltIn(body.builtIn);
        const { before, after } = await documents.transaction(async (session) => {
          const item = await existingItem(session, ctx, params.id);
          const { location, ...rest } = item;
          const changed: EquipmentDoc = {
            ...rest,
            ...(location === undefined || body.location === null ? {} : { location }),
            ...(typeof body.location === 'string' ? { location: body.location } : {}),
            name: body.name ?? item.name,
            type: body.type ?? item.type,
            serial: body.serial ?? item.serial,
            attributes: body.attributes ?? item.attributes,
            ...(builtIn === undefined ? {} : { builtIn, sensors: builtIn.map((entry) => entry.sensor) }),
            updatedAt: now(),
          };
          if (body.type !== undefined || body.attributes !== undefined) checkAttributes(await typeInGym(session, item.gym, changed.type), changed.attributes);
          if (body.serial !== undefined) await checkSerialFree(session, item.gym, changed.serial, item.id);
          if (builtIn !== undefined && !sameSensors(item.sensors, changed.sensors) && (await currentUse(session, item, now())).length > 0) {
            // The use's bindings are of the sensors it was taken with: changing them under it would misattribute.
            throw new ApiError('conflict', `${item.name} is in use: its built-in sensors change once it is released`);
          }
          if (builtIn !== undefined) await claimSensors(session, item.gym, item.id, changed.sensors);
          await session.collection(EQUIPMENT).replace(changed);
          return { before: item, after: changed };
        });
        if (!sameSensors(before.sensors, after.sensors)) await sensorsChanged(after.gym);
        ctx.body = toEquipment(after);
      },
      deleteEquipment: async (ctx, { params }) => {
        const removed = await documents.transaction(async (session) => {
          const item = await existingItem(session, ctx, params.id);
          // A machine taken away ends its use: its sensors are nobody's from now on.
          const at = now();
          for (const binding of await currentUse(session, item, at)) {
            await session.collection(BINDINGS).update({ id: binding.id, active: true }, { set: { active: false, until: at, endedBy: principalOf(ctx).subject } });
          }
          await session.collection(EQUIPMENT_SENSORS).delete({ equipment: item.id });
          await session.collection(EQUIPMENT_LOG).delete({ equipment: item.id });
          await session.collection(EQUIPMENT).delete({ id: item.id });
          return item;
        });
        if (removed.sensors.length > 0) await sensorsChanged(removed.gym);
        ctx.status = 204;
      },
      setEquipmentStatus: async (ctx, { params, body }) => {
        const { before, changed } = await documents.transaction(async (session) => {
          const item = await existingItem(session, ctx, params.id);
          const at = now();
          await logEntry(session, ctx, item, at, body.status, item.status, body.note);
          const doc: EquipmentDoc = { ...item, status: body.status, logged: item.logged + 1, updatedAt: at };
          await session.collection(EQUIPMENT).replace(doc);
          return { before: item, changed: doc };
        });
        // A note on an unchanged status is logged for staff, but is no change for subscribers.
        if (before.status !== changed.status) {
          await domain.events?.emit(changed.gym, 'equipment.status_changed', {
            equipment: changed.id,
            name: changed.name,
            from: before.status,
            to: changed.status,
            at: isoTime(changed.updatedAt),
            by: principalOf(ctx).subject,
            ...(body.note === undefined ? {} : { note: body.note }),
          });
        }
        ctx.body = toEquipment(changed);
      },
      useEquipment: async (ctx, { params, body }) => {
        const principal = principalOf(ctx);
        const gym = resourceGym(ctx);
        if (principal.kind !== 'user' || !principal.roles.some((held) => held.gym === gym && held.role === 'athlete')) {
          throw new ApiError('forbidden', 'only an athlete of the gym uses its machines, for themselves');
        }
        const athlete = principal.subject;
        const at = now();
        const { item, taken } = await documents.transaction(async (session) => {
          const item = await existingItem(session, ctx, params.id);
          if (item.status !== 'in_service') throw new ApiError('conflict', `${item.name} is ${item.status.replace('_', ' ')}: it cannot be used now`);
          if (item.sensors.length === 0) throw new ApiError('conflict', `${item.name} has no built-in sensor: nothing of it could be attributed`);
          const current = await currentUse(session, item, at);
          if (current.length > 0) {
            throw new ApiError('conflict', current[0]!.athlete === athlete ? `you are using ${item.name} already` : `${item.name} is in use by someone else`);
          }
          const taken: Binding[] = item.sensors.map((sensor) => ({
            id: randomUUID(),
            gym,
            sensor,
            athlete,
            active: true,
            from: at,
            ...(body.minutes === undefined ? {} : { until: at + body.minutes * 60_000 }),
            kind: 'equipment',
            label: item.name,
            equipment: item.id,
            createdBy: athlete,
          }));
          // A sensor bound otherwise (paired by hand) clashes on the one-active-binding index: a 409 as well.
          for (const binding of taken) await session.collection(BINDINGS).insert(binding);
          return { item, taken };
        });
        ctx.status = 201;
        ctx.body = toUse(item, taken);
      },
      releaseEquipment: async (ctx, { params }) => {
        const caller = principalOf(ctx).subject;
        const staff = gymsWithRoles(principalOf(ctx), STAFF);
        const gym = resourceGym(ctx);
        const at = now();
        const { item, ended } = await documents.transaction(async (session) => {
          const item = await existingItem(session, ctx, params.id);
          const current = await currentUse(session, item, at);
          if (current.length === 0) throw new ApiError('not_found', `${item.name} is not in use`);
          if (current[0]!.athlete !== caller && staff !== 'all' && !staff.has(gym)) throw new ApiError('forbidden', 'only the athlete using it, or the gym’s staff, ends a use');
          const ended: Binding[] = [];
          for (const binding of current) {
            const change = { active: false, until: at, endedBy: caller };
            if ((await session.collection(BINDINGS).update({ id: binding.id, active: true }, { set: change })) > 0) ended.push({ ...binding, ...change });
          }
          return { item, ended };
        });
        if (ended.length === 0) throw new ApiError('not_found', `${item.name} is not in use`);
        ctx.body = toUse(item, ended);
      },
      listMaintenance: async (ctx, { params, query }) => {
        await existingItem(documents, ctx, params.id);
        await listPage(ctx, {
          collection: documents.collection(EQUIPMENT_LOG),
          where: { equipment: params.id },
          orderBy: ['seq'],
          descending: true,
          query,
          path: `${API_PREFIX}/equipment/${params.id}/maintenance`,
          params: {},
          toItem: toEntry,
        });
      },
    },
  };
}
