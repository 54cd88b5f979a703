import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { Value } from '@sinclair/typebox/value';
import { TelemetryConfig, createLogger, telemetryConfigProblems, tracerFor, withLogFields } from '../src/index.ts';

function capture(): { lines: () => Record<string, unknown>[]; destination: Writable & { write(line: string): boolean } } {
  const written: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    destination,
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test('every line logged inside withLogFields carries its fields, from any child logger and after awaits; none outside', async () => {
  const { destination, lines } = capture();
  const log = createLogger({ name: 'test', level: 'info', pretty: false, destination });
  const component = log.child({ ns: 'some/component' });
  await withLogFields({ reqId: 'req-1' }, async () => {
    component.info('before an await');
    await new Promise((resolve) => setTimeout(resolve, 1));
    component.info({ detail: 1 }, 'after an await');
  });
  log.info('outside');
  const [before, afterAwait, outside] = lines();
  assert.equal(before!['reqId'], 'req-1');
  assert.equal(afterAwait!['reqId'], 'req-1');
  assert.equal(afterAwait!['ns'], 'some/component');
  assert.equal(outside!['reqId'], undefined);
});

test("a field the log call names itself wins over the context's", () => {
  const { destination, lines } = capture();
  const log = createLogger({ name: 'test', level: 'info', pretty: false, destination });
  withLogFields({ reqId: 'outer' }, () => log.info({ reqId: 'explicit' }, 'line'));
  const text = JSON.stringify(lines()[0]);
  assert.equal(lines()[0]!['reqId'], 'explicit');
  assert.equal(text.split('reqId').length, 2, 'one reqId key, not two');
});

test('without tracing started, no tracer is handed out and lines carry no trace id', () => {
  const { destination, lines } = capture();
  createLogger({ name: 'test', level: 'info', pretty: false, destination }).info('line');
  assert.equal(tracerFor('anything'), undefined);
  assert.equal(lines()[0]!['traceId'], undefined);
  // A plain pino logger (tests, tools) is unaffected.
  assert.ok(pino({ level: 'silent' }));
});

test('telemetry defaults to no traces, and an endpoint that is not an http(s) URL is a config problem', () => {
  const config = Value.Default(TelemetryConfig, {}) as TelemetryConfig;
  assert.deepEqual(config, { traces: { exporter: 'none', sampleRatio: 1 } });
  const withEndpoint = (endpoint: string): TelemetryConfig => ({ traces: { exporter: 'otlp', endpoint, sampleRatio: 1 } });
  assert.deepEqual(telemetryConfigProblems(withEndpoint('http://collector:4318'), '/telemetry'), []);
  assert.deepEqual(telemetryConfigProblems(withEndpoint('collector:4318'), '/telemetry'), [
    '/telemetry/traces/endpoint: must be an http:// or https:// URL (OTLP/HTTP), not collector:',
  ]);
  assert.deepEqual(telemetryConfigProblems(withEndpoint('not a url'), '/telemetry'), ['/telemetry/traces/endpoint: "not a url" is not a URL']);
  assert.deepEqual(telemetryConfigProblems(withEndpoint('grpc://collector:4317'), '/x'), ['/x/traces/endpoint: must be an http:// or https:// URL (OTLP/HTTP), not grpc:']);
});
