/**
 * Scenario files for the preload: a JSON description of adapters, peripherals and floods, checked against
 * TypeBox schemas (every problem reported at once, with its path) and turned into a started world.
 *
 * {
 *   "seed": 7,
 *   "adapters": [{ "id": 0, "connectionLimit": 4 }, { "id": 1 }],
 *   "peripherals": [
 *     { "kind": "heart-rate-strap", "adapters": [0], "options": { "seed": 1, "name": "HRM-A", "notifyIntervalMs": 200 } },
 *     { "kind": "polar-broadcast-strap", "options": { "seed": 2 } }
 *   ],
 *   "floods": [{ "count": 500, "rounds": 2 }]
 * }
 */
import { PulsebridgeError } from '@pulsebridge/runtime';
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import { PERIPHERAL_KINDS, type PeripheralKindName } from './peripherals/index.ts';
import { FakeBleWorld } from './world.ts';

const ADDRESS = '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$';

const AdapterSchema = Type.Object(
  {
    id: Type.Integer({ minimum: 0, maximum: 15 }),
    address: Type.Optional(Type.String({ pattern: ADDRESS })),
    connectionLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    connectionLimitStatus: Type.Optional(Type.Integer({ minimum: 1, maximum: 0xff })),
    aclPacketLength: Type.Optional(Type.Integer({ minimum: 27, maximum: 251 })),
    aclPacketCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    sharedBufferPool: Type.Optional(Type.Boolean()),
    connectDelayMs: Type.Optional(Type.Number({ minimum: 0 })),
    connectTimeoutMs: Type.Optional(Type.Number({ minimum: 1 })),
    aclCompletionDelayMs: Type.Optional(Type.Number({ minimum: 0 })),
    hciVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xff })),
    duplicateFilterCapacity: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Start wedged: only an HCI Reset brings it back. */
    wedged: Type.Optional(Type.Boolean()),
    /** Start down (isDevUp() false) (default true). */
    powered: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const KindSchema = Type.Union(Object.keys(PERIPHERAL_KINDS).map((kind) => Type.Literal(kind)));

const PeripheralEntrySchema = Type.Object(
  {
    kind: KindSchema,
    adapters: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 15 }))),
    options: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);

const FloodSchema = Type.Object(
  {
    count: Type.Integer({ minimum: 0, maximum: 100_000 }),
    adapters: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 15 }))),
    payload: Type.Optional(Type.Union([Type.Literal('empty'), Type.Literal('junk-manufacturer'), Type.Literal('unwanted-services'), Type.Literal('mixed')])),
    addressKind: Type.Optional(Type.Union([Type.Literal('random-static'), Type.Literal('resolvable-private'), Type.Literal('mixed')])),
    eventsPerTick: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    tickMs: Type.Optional(Type.Number({ minimum: 1 })),
    /** Rounds of advertising; 0 means until the world closes. */
    rounds: Type.Optional(Type.Integer({ minimum: 0 })),
    rssi: Type.Optional(Type.Number({ minimum: -127, maximum: 20 })),
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const ScenarioSchema = Type.Object(
  {
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    adapters: Type.Optional(Type.Array(AdapterSchema, { minItems: 1 })),
    peripherals: Type.Optional(Type.Array(PeripheralEntrySchema)),
    floods: Type.Optional(Type.Array(FloodSchema)),
  },
  { additionalProperties: false },
);

export type Scenario = Static<typeof ScenarioSchema>;

export class ScenarioError extends PulsebridgeError<'INVALID_SCENARIO'> {
  readonly problems: string[];

  constructor(problems: string[]) {
    super('INVALID_SCENARIO', `invalid fake BLE scenario:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/**
 * Checks a parsed scenario, including each peripheral's options against its kind's schema and every
 * adapter reference; all problems are reported together.
 */
export function parseScenario(input: unknown): Scenario {
  const problems = [...Value.Errors(ScenarioSchema, input)].map((error) => `${error.path || '/'}: ${error.message}`);
  const candidate = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const adapterIds = new Set<unknown>(Array.isArray(candidate.adapters) ? candidate.adapters.map((adapter: { id?: unknown }) => adapter?.id) : [0]);
  if (Array.isArray(candidate.adapters) && adapterIds.size !== candidate.adapters.length) problems.push('/adapters: an adapter id appears twice');
  const checkAdapters = (where: string, ids: unknown): void => {
    if (!Array.isArray(ids)) return;
    for (const id of ids) if (!adapterIds.has(id)) problems.push(`${where}/adapters: no adapter ${String(id)}`);
  };
  if (Array.isArray(candidate.peripherals)) {
    candidate.peripherals.forEach((entry: { kind?: unknown; options?: unknown; adapters?: unknown }, index: number) => {
      const kind = typeof entry?.kind === 'string' && Object.hasOwn(PERIPHERAL_KINDS, entry.kind) ? PERIPHERAL_KINDS[entry.kind as PeripheralKindName] : undefined;
      if (kind !== undefined && (entry.options === undefined || (typeof entry.options === 'object' && entry.options !== null))) {
        for (const error of Value.Errors(kind.schema, entry.options ?? {})) problems.push(`/peripherals/${index}/options${error.path}: ${error.message}`);
      }
      checkAdapters(`/peripherals/${index}`, entry?.adapters);
    });
  }
  if (Array.isArray(candidate.floods)) {
    candidate.floods.forEach((flood: { adapters?: unknown }, index: number) => checkAdapters(`/floods/${index}`, flood?.adapters));
  }
  if (problems.length > 0) throw new ScenarioError(problems);
  return input as Scenario;
}

export function readScenarioFile(path: string): Scenario {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ScenarioError([`${path}: ${(error as Error).message}`]);
  }
  return parseScenario(parsed);
}

/** Builds the world a scenario describes and starts it (peripherals advertising, floods running). */
export function startScenario(scenario: Scenario, options: { logger?: Logger } = {}): FakeBleWorld {
  const adapters = scenario.adapters ?? [{ id: 0 }];
  const world = new FakeBleWorld({
    seed: scenario.seed,
    logger: options.logger,
    adapters: adapters.map(({ wedged: _wedged, powered: _powered, ...adapter }) => adapter),
  });
  for (const entry of scenario.peripherals ?? []) {
    const kind = PERIPHERAL_KINDS[entry.kind as PeripheralKindName];
    world.add(kind.create(entry.options ?? {}), { adapters: entry.adapters });
  }
  world.start();
  for (const adapter of adapters) {
    if (adapter.powered === false) world.adapter(adapter.id).setPowered(false);
    if (adapter.wedged === true) world.adapter(adapter.id).wedge();
  }
  for (const { count, rounds, ...flood } of scenario.floods ?? []) {
    world.flood(count, { ...flood, rounds: rounds === 0 ? Infinity : rounds });
  }
  return world;
}
