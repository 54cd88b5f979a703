/** Handlers of pairing-operations.ts. */
import { canonicalSensorId } from '@pulsebridge/protocol';
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { gymsWithRoles } from '../auth/principal.ts';
import type { Domain } from '../domain/domain.ts';
import { allowlistOf } from '../domain/pairing/allowlist.ts';
import { announceChange, endExpiredLoans, isTakenSensor, type Binding } from '../domain/pairing/bindings.ts';
import { BINDINGS, GYM_SENSORS, PAIRING_WINDOWS } from '../domain/pairing/collections.ts';
import type { DocumentOf, Where } from '../documents/document-store.ts';
import type { NearbySensor } from '../pairing/pairing-channel.ts';
import { MEMBERS } from './access.ts';
import type { ApiContext } from './context.ts';
import { API_PREFIX } from './operation.ts';
import { listPage } from './pages.ts';
import { DISCOVERY_SECONDS, PAIRING_OPERATIONS, type Binding as BindingView, type Candidate, type GymSensor as GymSensorView } from './pairing-operations.ts';
import { ApiError, invalidParameter } from './problem.ts';
import { parseTime } from './query.ts';
import type { RouteModule } from './route-module.ts';
import { auditChange, isoTime, principalOf, resourceGym } from './self.ts';

type GymSensor = DocumentOf<typeof GYM_SENSORS.schema>;
type PairingWindow = DocumentOf<typeof PAIRING_WINDOWS.schema>;

/** How long after its agents stop listening a discovery window can still be polled and confirmed from. */
export const DISCOVERY_CONFIRM_MS = 5 * 60_000;
/** A loan is for one class. */
export const MAX_LOAN_MS = 12 * 3_600_000;
const HEART_RATE = 'heart_rate';
// Said to athletes: who wears the sensor is not theirs to know.
const PAIRED_TO_SOMEONE_ELSE = 'this sensor is paired to someone else in this gym: they unpair it first, or ask the gym’s staff';

function toBinding(binding: Binding, athleteName?: string): Static<typeof BindingView> {
  return {
    id: binding.id,
    gym: binding.gym,
    sensor: binding.sensor,
    athlete: binding.athlete,
    ...(athleteName === undefined ? {} : { athleteName }),
    kind: binding.kind,
    active: binding.active,
    from: isoTime(binding.from),
    ...(binding.until === undefined ? {} : { until: isoTime(binding.until) }),
    ...(binding.label === undefined ? {} : { label: binding.label }),
    ...(binding.gymSensor === undefined ? {} : { gymSensor: binding.gymSensor }),
    ...(binding.classId === undefined ? {} : { classId: binding.classId }),
    ...(binding.equipment === undefined ? {} : { equipment: binding.equipment }),
  };
}

function toGymSensor(owned: GymSensor): Static<typeof GymSensorView> {
  return {
    id: owned.id,
    gym: owned.gym,
    sensor: owned.sensor,
    kind: owned.kind,
    ...(owned.label === undefined ? {} : { label: owned.label }),
    createdAt: isoTime(owned.createdAt),
    updatedAt: isoTime(owned.updatedAt),
  };
}

/** The canonical form of a sensor id from a request; 400 naming `param` when it is none. */
export function sensorParam(text: string, param: string): string {
  const sensor = canonicalSensorId(text);
  if (sensor === undefined) throw invalidParameter(param, 'is not a sensor id (e.g. ble:aa-bb-cc-dd-ee-ff or ant:120:12345:1)');
  return sensor;
}

/** For the caller's own pairing in a gym named by the body: they must hold a role there. */
function requireRoleIn(ctx: ApiContext, gym: string): void {
  const gyms = gymsWithRoles(principalOf(ctx), MEMBERS);
  if (gyms !== 'all' && !gyms.has(gym)) throw new ApiError('forbidden', `you have no role in gym ${gym}`, { param: 'gym' });
}

export function pairingRoutes(domain: Domain): RouteModule<typeof PAIRING_OPERATIONS> {
  const { documents, identity, pairing, now } = domain;
  const bindings = documents.collection(BINDINGS);
  const gymSensors = documents.collection(GYM_SENSORS);
  const windows = documents.collection(PAIRING_WINDOWS);

  /** The discovery window `id` of the caller, while it lasts; 404 otherwise. */
  async function windowOf(ctx: ApiContext, id: string): Promise<PairingWindow> {
    const window = await windows.get(id);
    if (window === undefined || window.athlete !== principalOf(ctx).subject || window.expiresAt <= now()) throw new ApiError('not_found', `no discovery window ${id}`);
    return window;
  }

  /** New heart-rate straps heard in the window, strongest first, without those paired in the gym or owned by it. */
  async function candidatesOf(window: PairingWindow): Promise<Static<typeof Candidate>[]> {
    const best = new Map<string, NearbySensor>();
    for (const heard of pairing.nearby(window.gym, window.openedAt)) {
      const sensor = canonicalSensorId(heard.sensor);
      if (sensor === undefined || heard.kind !== HEART_RATE || heard.seenAt > window.until) continue;
      const known = best.get(sensor);
      if (known === undefined || (heard.rssi ?? -Infinity) > (known.rssi ?? -Infinity)) best.set(sensor, { ...heard, sensor });
    }
    const sensors = [...best.keys()];
    if (sensors.length > 0) {
      for (const bound of await bindings.find({ gym: window.gym, active: true, sensor: { in: sensors } })) best.delete(bound.sensor);
      for (const owned of await gymSensors.find({ gym: window.gym, sensor: { in: sensors } })) best.delete(owned.sensor);
    }
    return [...best.values()]
      .sort((a, b) => (b.rssi ?? -Infinity) - (a.rssi ?? -Infinity) || b.seenAt - a.seenAt || a.sensor.localeCompare(b.sensor))
      .map((heard) => ({ sensor: heard.sensor, kind: heard.kind, rssi: heard.rssi ?? null, agent: heard.agent, seenAt: isoTime(heard.seenAt) }));
  }

  const audit = (ctx: ApiContext, type: string, gym: string, detail: Record<string, unknown>) => auditChange(ctx, identity, type, gym, detail);

  return {
    handlers: {
      listMySensors: async (ctx) => {
        await endExpiredLoans(domain);
        const mine = await bindings.find({ athlete: principalOf(ctx).subject, active: true });
        mine.sort((a, b) => b.from - a.from || a.id.localeCompare(b.id));
        ctx.body = { items: mine.map((binding) => toBinding(binding)) };
      },
      claimSensor: async (ctx, { body }) => {
        requireRoleIn(ctx, body.gym);
        const athlete = principalOf(ctx).subject;
        const sensor = sensorParam(body.sensor, 'sensor');
        let window: PairingWindow | undefined;
        if (body.window !== undefined) {
          window = await windowOf(ctx, body.window);
          if (window.gym !== body.gym) throw invalidParameter('window', `was opened in gym ${window.gym}, not ${body.gym}`);
          if (!(await candidatesOf(window)).some((candidate) => candidate.sensor === sensor))
            throw new ApiError('conflict', 'this sensor was not heard as a new heart-rate strap in that window: pair it by its id (without window) if it is yours');
        }
        await endExpiredLoans(domain);
        const binding: Binding = {
          id: randomUUID(),
          gym: body.gym,
          sensor,
          athlete,
          active: true,
          from: now(),
          kind: 'own',
          createdBy: athlete,
          ...(body.label === undefined ? {} : { label: body.label }),
        };
        try {
          // One transaction, so that the gym cannot register the sensor as its own between the check and the claim.
          await documents.transaction(async (session) => {
            if ((await session.collection(GYM_SENSORS).findOne({ gym: body.gym, sensor })) !== undefined)
              throw new ApiError('conflict', 'this is one of the gym’s own sensors: a coach lends it to you for a class');
            await session.collection(BINDINGS).insert(binding);
          });
        } catch (error) {
          if (!isTakenSensor(error)) throw error;
          const holder = await bindings.findOne({ gym: body.gym, sensor, active: true });
          throw new ApiError('conflict', holder?.athlete === athlete ? 'you have paired this sensor in this gym already' : PAIRED_TO_SOMEONE_ELSE);
        }
        if (window !== undefined) await windows.delete({ id: window.id });
        await announceChange(domain, body.gym);
        ctx.status = 201;
        ctx.body = toBinding(binding);
      },
      unpairSensor: async (ctx, { params }) => {
        await endExpiredLoans(domain);
        const subject = principalOf(ctx).subject;
        const binding = await bindings.get(params.binding);
        if (binding === undefined || binding.athlete !== subject || !binding.active) throw new ApiError('not_found', `no active binding ${params.binding} of yours`);
        const until = now();
        if ((await bindings.update({ id: binding.id, active: true }, { set: { active: false, until, endedBy: subject } })) === 0)
          throw new ApiError('not_found', `no active binding ${params.binding} of yours`);
        await announceChange(domain, binding.gym);
        ctx.body = toBinding({ ...binding, active: false, until, endedBy: subject });
      },
      openDiscovery: async (ctx, { body }) => {
        requireRoleIn(ctx, body.gym);
        const openedAt = now();
        await windows.delete({ expiresAt: { lte: openedAt } });
        await pairing.openWindow(body.gym, { seconds: DISCOVERY_SECONDS, permitJoin: false });
        const until = openedAt + DISCOVERY_SECONDS * 1_000;
        const window: PairingWindow = { id: randomUUID(), gym: body.gym, athlete: principalOf(ctx).subject, openedAt, until, expiresAt: until + DISCOVERY_CONFIRM_MS };
        await windows.insert(window);
        ctx.status = 201;
        ctx.body = { windowId: window.id, gym: window.gym, until: isoTime(until) };
      },
      getDiscovery: async (ctx, { params }) => {
        const window = await windowOf(ctx, params.window);
        ctx.body = { windowId: window.id, gym: window.gym, until: isoTime(window.until), open: now() < window.until, candidates: await candidatesOf(window) };
      },
      listGymSensors: async (ctx, { query }) => {
        const where: Where = query.gym === undefined ? {} : { gym: query.gym };
        await listPage(ctx, {
          collection: gymSensors,
          where,
          orderBy: ['sensor'],
          query,
          path: `${API_PREFIX}/gym-sensors`,
          params: { gym: query.gym },
          toItem: toGymSensor,
        });
      },
      createGymSensor: async (ctx, { body }) => {
        const sensor = sensorParam(body.sensor, 'sensor');
        const at = now();
        const owned: GymSensor = {
          id: randomUUID(),
          gym: body.gym,
          sensor,
          kind: body.kind ?? HEART_RATE,
          ...(body.label === undefined ? {} : { label: body.label }),
          createdAt: at,
          updatedAt: at,
        };
        try {
          // One transaction, so that no athlete claims the sensor between the check and the registration.
          await documents.transaction(async (session) => {
            if ((await session.collection(BINDINGS).findOne({ gym: body.gym, sensor, active: true, kind: 'own' })) !== undefined)
              throw new ApiError('conflict', 'an athlete of the gym has paired this sensor as theirs: it becomes the gym’s once they unpair it');
            await session.collection(GYM_SENSORS).insert(owned);
          });
        } catch (error) {
          if (error instanceof ApiError) throw error;
          if ((await gymSensors.findOne({ gym: body.gym, sensor })) !== undefined) throw new ApiError('conflict', `the gym has registered ${sensor} already`);
          throw error;
        }
        await announceChange(domain, body.gym);
        await audit(ctx, 'gym_sensor.created', body.gym, { sensor });
        ctx.status = 201;
        ctx.body = toGymSensor(owned);
      },
      getGymSensor: async (ctx, { params }) => {
        const owned = await gymSensors.get(params.id);
        if (owned === undefined) throw new ApiError('not_found', `no gym sensor with id ${params.id}`);
        ctx.body = toGymSensor(owned);
      },
      patchGymSensor: async (ctx, { params, body }) => {
        const gym = resourceGym(ctx);
        const set: Partial<GymSensor> = { updatedAt: now() };
        if (body.kind !== undefined) set.kind = body.kind;
        if (body.label !== undefined) set.label = body.label;
        if ((await gymSensors.update({ id: params.id, gym }, { set })) === 0) throw new ApiError('not_found', `no gym sensor with id ${params.id}`);
        ctx.body = toGymSensor((await gymSensors.get(params.id))!);
      },
      deleteGymSensor: async (ctx, { params }) => {
        const gym = resourceGym(ctx);
        await endExpiredLoans(domain);
        const owned = await gymSensors.get(params.id);
        if (owned === undefined) throw new ApiError('not_found', `no gym sensor with id ${params.id}`);
        if ((await bindings.findOne({ gym, sensor: owned.sensor, active: true })) !== undefined)
          throw new ApiError('conflict', 'the strap is on loan now: end the loan first, or wait for its class to end');
        await gymSensors.delete({ id: owned.id, gym });
        await announceChange(domain, gym);
        await audit(ctx, 'gym_sensor.deleted', gym, { sensor: owned.sensor });
        ctx.status = 204;
      },
      lendGymSensor: async (ctx, { params, body }) => {
        const gym = resourceGym(ctx);
        const owned = await gymSensors.get(params.id);
        if (owned === undefined) throw new ApiError('not_found', `no gym sensor with id ${params.id}`);
        const at = now();
        const from = body.from === undefined ? at : parseTime(body.from, 'from');
        const until = parseTime(body.until, 'until');
        if (until <= from) throw invalidParameter('until', 'must be after from');
        if (until <= at) throw invalidParameter('until', 'has passed: a loan ends at the end of a class to come or under way');
        if (until - from > MAX_LOAN_MS) throw invalidParameter('until', `a loan is for one class: at most ${MAX_LOAN_MS / 3_600_000} hours after from`);
        const memberships = await identity.listMembershipsOfUser(body.athlete);
        if (!memberships.some((membership) => membership.gym === gym)) throw invalidParameter('athlete', 'is no member of this gym');
        await endExpiredLoans(domain);
        const [latest] = await bindings.find({ gym, sensor: owned.sensor }, { orderBy: ['from'], descending: true, limit: 1 });
        // Two bindings covering one moment would make its readings ambiguous.
        if (latest !== undefined && !latest.active && latest.until !== undefined && latest.until > from)
          throw invalidParameter('from', `overlaps the strap's previous binding, which ended at ${isoTime(latest.until)}`);
        const binding: Binding = {
          id: randomUUID(),
          gym,
          sensor: owned.sensor,
          athlete: body.athlete,
          active: true,
          from,
          until,
          kind: 'loaner',
          gymSensor: owned.id,
          createdBy: principalOf(ctx).subject,
          ...(owned.label === undefined ? {} : { label: owned.label }),
          ...(body.classId === undefined ? {} : { classId: body.classId }),
        };
        try {
          await bindings.insert(binding);
        } catch (error) {
          if (isTakenSensor(error)) throw new ApiError('conflict', 'the strap is on loan already: end that loan first, or wait for its class to end');
          throw error;
        }
        await announceChange(domain, gym);
        ctx.status = 201;
        ctx.body = toBinding(binding);
      },
      listBindings: async (ctx, { params, query }) => {
        await endExpiredLoans(domain);
        const sensor = query.sensor === undefined ? undefined : sensorParam(query.sensor, 'sensor');
        const where: Record<string, string | boolean> = { gym: params.gym };
        if (query.active !== undefined) where['active'] = query.active === 'true';
        if (query.athlete !== undefined) where['athlete'] = query.athlete;
        if (sensor !== undefined) where['sensor'] = sensor;
        const page = await listPage(ctx, {
          collection: bindings,
          where,
          orderBy: ['from'],
          descending: true,
          query,
          path: `${API_PREFIX}/gyms/${params.gym}/bindings`,
          params: { active: query.active, athlete: query.athlete, sensor },
          toItem: (binding) => toBinding(binding),
        });
        const names = new Map<string, string | undefined>();
        for (const item of page.items) {
          if (!names.has(item.athlete)) names.set(item.athlete, (await identity.getUser(item.athlete))?.displayName);
          const name = names.get(item.athlete);
          if (name !== undefined) item.athleteName = name;
        }
      },
      permitJoin: async (ctx, { params, body }) => {
        const until = now() + body.seconds * 1_000;
        await pairing.openWindow(params.gym, { seconds: body.seconds, permitJoin: true });
        await audit(ctx, 'pairing.permit_join', params.gym, { seconds: body.seconds });
        ctx.body = { gym: params.gym, until: isoTime(until) };
      },
      getAllowlist: async (ctx, { params }) => {
        await endExpiredLoans(domain);
        ctx.body = { gym: params.gym, sensors: await allowlistOf(documents, params.gym) };
      },
    },
  };
}
