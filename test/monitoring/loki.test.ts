/**
 * The Loki and promtail files. Neither Grafana Loki nor promtail can be installed here (Debian's `loki` is an
 * unrelated tool), so this checks what can be checked without them: both files are valid YAML with the
 * expected shape, and every promtail pipeline, applied by hand to a line the hub's own logger writes, gives
 * the labels and structured metadata the docs promise (trace_id, span_id, request_id, level, service).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { parse } from 'yaml';
import { createLogger } from '@pulsebridge/runtime';
import { MONITORING } from './monitoring-files.ts';

type Stage = Record<string, Record<string, unknown> | null>;
interface PromtailConfig {
  clients: { url: string }[];
  scrape_configs: { job_name: string; pipeline_stages: Stage[] }[];
}

const promtail = parse(readFileSync(join(MONITORING, 'loki/promtail-config.yml'), 'utf8')) as PromtailConfig;

/** A line as the hub writes it, with the fields the tracing work adds to every line of a request. */
function hubLogLine(): string {
  let line = '';
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      line += chunk.toString();
      done();
    },
  });
  const log = createLogger({ name: 'pulsebridge-hub', level: 'info', pretty: false, destination: capture });
  log.warn({ reqId: 'req-42', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', method: 'GET', path: '/api/v1/agents' }, 'request failed');
  return line.trim();
}

/** The promtail stages that matter here, applied as promtail applies them: json, template, labels, structured_metadata, timestamp. */
function applyPipeline(stages: Stage[], line: string): { labels: Record<string, string>; metadata: Record<string, string>; timestampMs: number } {
  const extracted: Record<string, string> = {};
  const result = { labels: {} as Record<string, string>, metadata: {} as Record<string, string>, timestampMs: Number.NaN };
  for (const stage of stages) {
    const [kind, options] = Object.entries(stage)[0] ?? [];
    if (kind === 'json') {
      const object = JSON.parse(line) as Record<string, unknown>;
      for (const [name, field] of Object.entries((options as { expressions: Record<string, string> }).expressions))
        if (object[field] !== undefined) extracted[name] = String(object[field]);
    } else if (kind === 'template') {
      const { source, template } = options as { source: string; template: string };
      const value = extracted[source] ?? '';
      const branch = [...template.matchAll(/eq \.Value "(\d+)" \}\}(\w+)/g)].find((m) => m[1] === value);
      extracted[source] = branch?.[2] ?? value;
    } else if (kind === 'labels') {
      for (const name of Object.keys(options ?? {})) if (extracted[name] !== undefined) result.labels[name] = extracted[name];
    } else if (kind === 'structured_metadata') {
      for (const name of Object.keys(options ?? {})) if (extracted[name] !== undefined) result.metadata[name] = extracted[name];
    } else if (kind === 'timestamp') {
      const { source, format } = options as { source: string; format: string };
      assert.equal(format, 'UnixMs');
      result.timestampMs = Number(extracted[source]);
    }
  }
  return result;
}

test('the Loki config is valid YAML: filesystem tsdb schema v13, structured metadata allowed, retention on', () => {
  const loki = parse(readFileSync(join(MONITORING, 'loki/loki-config.yml'), 'utf8')) as {
    server: { http_listen_port: number };
    schema_config: { configs: { store: string; schema: string }[] };
    limits_config: { allow_structured_metadata: boolean; retention_period: string };
    compactor: { retention_enabled: boolean };
  };
  assert.equal(loki.server.http_listen_port, 3100);
  assert.deepEqual(
    loki.schema_config.configs.map((c) => `${c.store} ${c.schema}`),
    ['tsdb v13'],
  );
  assert.equal(loki.limits_config.allow_structured_metadata, true);
  assert.equal(loki.compactor.retention_enabled, true);
  assert.ok(promtail.clients[0]?.url.endsWith(':3100/loki/api/v1/push'));
});

test('every promtail pipeline turns a hub log line into service and level labels and trace_id, span_id, request_id metadata', () => {
  const line = hubLogLine();
  assert.ok(promtail.scrape_configs.length >= 3);
  for (const job of promtail.scrape_configs) {
    const stages = job.pipeline_stages.filter((s) => !('cri' in s));
    const got = applyPipeline(stages, line);
    assert.deepEqual(got.labels, { level: 'warn', service: 'pulsebridge-hub' }, job.job_name);
    assert.deepEqual(got.metadata, { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', request_id: 'req-42' }, job.job_name);
    assert.ok(Math.abs(got.timestampMs - Date.now()) < 60_000, `${job.job_name}: pino's time read as epoch milliseconds`);
  }
});

test('no promtail job makes a per-request field a label (each would be a new Loki stream)', () => {
  for (const job of promtail.scrape_configs) {
    const labels = job.pipeline_stages.flatMap((s) => Object.keys(s['labels'] ?? {}));
    for (const field of ['trace_id', 'span_id', 'request_id']) assert.ok(!labels.includes(field), `${job.job_name} labels ${field}`);
  }
});
