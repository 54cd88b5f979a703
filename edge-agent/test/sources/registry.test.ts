import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Value } from '@sinclair/typebox/value';
import { SOURCE_KINDS, SourcesConfig, createSources, sourcesConfigProblems } from '../../src/sources/registry.ts';

const defaults = (input: unknown = {}): SourcesConfig => Value.Default(SourcesConfig, Value.Clone(input)) as SourcesConfig;

test('registry: one entry per source kind, each section with an enabled switch: only the simulator on by default', () => {
  assert.deepEqual(Object.keys(SOURCE_KINDS), ['simulator', 'ble', 'ant', 'serial']);
  const config = defaults();
  assert.deepEqual(
    Object.entries(config).map(([name, section]) => [name, section.enabled]),
    [
      ['simulator', true],
      ['ble', false],
      ['ant', false],
      ['serial', false],
    ],
  );
  for (const [name, kind] of Object.entries(SOURCE_KINDS)) {
    const enabled = kind.schema.properties['enabled'] as { description?: string } | undefined;
    assert.ok(enabled?.description, `${name} describes its enabled switch`);
  }
});

test('registry: createSources builds the enabled sources in registry order, each with its own logger', () => {
  const scoped: string[] = [];
  const log = pino({ level: 'silent' });
  const config = defaults({ simulator: { enabled: true, athletes: 1 }, serial: { enabled: true } });
  const sources = createSources(config, {
    now: () => 0,
    log: (name) => {
      scoped.push(name);
      return log.child({ ns: `sources/${name}` });
    },
  });
  assert.deepEqual(
    sources.map((source) => source.name),
    ['simulator', 'serial'],
  );
  assert.deepEqual(scoped, ['simulator', 'serial']);
  assert.deepEqual(createSources(defaults({ simulator: { enabled: false } }), { now: () => 0, log: () => log }), []);
});

test('registry: each entry runs its own checks under the path it is given, and a valid section has none', () => {
  assert.deepEqual(sourcesConfigProblems(defaults(), '/sources'), []);
  assert.deepEqual(sourcesConfigProblems(defaults({ ant: { transport: 'uart' } }), '/x'), ['/x/ant/path: required when transport is uart']);
});

test('registry: a UART path that an enabled serial port also opens is refused, but only when both sources are enabled', () => {
  const clash = {
    ant: { enabled: true, transport: 'uart', path: '/dev/ttyUSB0' },
    serial: {
      enabled: true,
      ports: [
        { path: '/dev/ttyACM0', protocol: 'csafe' },
        { path: '/dev/ttyUSB0', protocol: 'nmea' },
      ],
    },
  };
  assert.deepEqual(sourcesConfigProblems(defaults(clash), '/sources'), ['/sources/ant/path: /dev/ttyUSB0 is also /sources/serial/ports/1']);
  assert.deepEqual(sourcesConfigProblems(defaults({ ...clash, serial: { ...clash.serial, enabled: false } }), '/sources'), []);
});
