/**
 * Every kind of source the agent can run, one entry each: its name (the key under `sources:` in the
 * configuration), its configuration schema with the `enabled` switch, the checks the schema cannot
 * express, and how to create it. The agent's configuration and composition root read this table only:
 * adding a source kind is a folder and an entry here.
 */
import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { AntSource } from './ant/ant-source.ts';
import { AntSourceConfig, antConfigProblems } from './ant/config.ts';
import { BleSource } from './ble/ble-source.ts';
import { BleSourceConfig, bleConfigProblems } from './ble/config.ts';
import { SerialSourceConfig, serialConfigProblems } from './serial/config.ts';
import { SerialSource } from './serial/serial-source.ts';
import { SimulatorConfig } from './simulator/config.ts';
import { SimulatorSource } from './simulator/simulator.ts';
import type { PairingState } from './pairing-state.ts';
import type { Source } from './source.ts';

/** What a source gets from the agent besides its configuration. */
export interface SourceDeps {
  /** Wall clock, UTC ms: the agent's Clock. */
  now: () => number;
  /** Already scoped to the source (`ns: sources/<name>`). */
  log: Logger;
  /** The hub's pairing list and window, which every source that admits sensors consults. */
  pairing?: PairingState | undefined;
}

export interface SourceKind<Config> {
  /** The section's schema: the source's own configuration and `enabled`, with its default and description. */
  readonly schema: TObject;
  /** Problems the schema cannot express, formatted `${path}/field: what is wrong`; only run on a value the schema accepts. */
  readonly problems?: (config: Config, path: string) => string[];
  readonly create: (config: Config, deps: SourceDeps) => Source;
}

const sectionOptions = { additionalProperties: false, default: {} } as const;
const enabled = (byDefault: boolean, description: string) => Type.Object({ enabled: Type.Boolean({ default: byDefault, description }) });

const SimulatorSection = Type.Composite([SimulatorConfig, enabled(true, 'run the simulated gym class')], sectionOptions);
const BleSection = Type.Composite([BleSourceConfig, enabled(false, 'read Bluetooth Low Energy sensors through the HCI adapters')], sectionOptions);
const AntSection = Type.Composite([AntSourceConfig, enabled(false, 'read ANT+ sensors through a USB stick or UART module')], sectionOptions);
const SerialSection = Type.Composite([SerialSourceConfig, enabled(false, 'read gym equipment and GPS receivers on serial ports')], sectionOptions);

const simulator: SourceKind<SimulatorConfig> = { schema: SimulatorSection, create: (config, deps) => new SimulatorSource({ ...config, ...deps }) };
const ble: SourceKind<BleSourceConfig> = { schema: BleSection, problems: bleConfigProblems, create: (config, deps) => new BleSource({ ...config, ...deps }) };
const ant: SourceKind<AntSourceConfig> = { schema: AntSection, problems: antConfigProblems, create: (config, deps) => new AntSource({ ...config, ...deps }) };
const serial: SourceKind<SerialSourceConfig> = { schema: SerialSection, problems: serialConfigProblems, create: (config, deps) => new SerialSource({ ...config, ...deps }) };

export const SOURCE_KINDS = { simulator, ble, ant, serial } as const;
export type SourceName = keyof typeof SOURCE_KINDS;

/** The `sources:` section of the agent's configuration, one subsection per registry entry. */
export const SourcesConfig = Type.Object({ simulator: SimulatorSection, ble: BleSection, ant: AntSection, serial: SerialSection }, sectionOptions);
export type SourcesConfig = Static<typeof SourcesConfig>;

/**
 * One kind, seen without its configuration type: the registry's entries differ in it, and each is only
 * ever handed its own section, which the config loader has checked against that entry's schema.
 */
type AnySourceKind = {
  problems?: (config: unknown, path: string) => string[];
  create: (config: unknown, deps: SourceDeps) => Source;
};

function entries(config: SourcesConfig): [SourceName, AnySourceKind, { enabled: boolean }][] {
  return (Object.keys(SOURCE_KINDS) as SourceName[]).map((name) => [name, SOURCE_KINDS[name] as AnySourceKind, config[name]]);
}

/** Every source's own checks, with paths under `path` (`/sources`), then devices claimed by two sources. */
export function sourcesConfigProblems(config: SourcesConfig, path: string): string[] {
  const own = entries(config).flatMap(([name, kind, sectionConfig]) => kind.problems?.(sectionConfig, `${path}/${name}`) ?? []);
  return [...own, ...sharedDevices(config, path)];
}

/** An ANT UART module on a path an enabled serial port also opens: the two would fight over the device. */
function sharedDevices(config: SourcesConfig, path: string): string[] {
  const { ant, serial } = config;
  if (!ant.enabled || !serial.enabled || ant.transport !== 'uart' || ant.path === undefined) return [];
  const index = serial.ports.findIndex((port) => port.path === ant.path);
  return index < 0 ? [] : [`${path}/ant/path: ${ant.path} is also ${path}/serial/ports/${index}`];
}

/** The enabled sources, in registry order; `log` gives each its own logger. */
export function createSources(config: SourcesConfig, deps: { now: () => number; log: (name: SourceName) => Logger; pairing?: PairingState | undefined }): Source[] {
  return entries(config).flatMap(([name, kind, sectionConfig]) => {
    if (!sectionConfig.enabled) return [];
    const { enabled: _enabled, ...own } = sectionConfig;
    return [kind.create(own, { now: deps.now, log: deps.log(name), pairing: deps.pairing })];
  });
}
