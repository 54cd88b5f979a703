import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { CliIo } from '../src/cli.ts';
import { ConfigError } from '../src/config.ts';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, runService, type Service } from '../src/service.ts';

function io(): { io: CliIo; stderr: string[]; signal: () => void; second: () => void } {
  const stderr: string[] = [];
  let fire: (name: string) => void = () => undefined;
  let onSecond: () => void = () => undefined;
  return {
    io: {
      stdout: () => undefined,
      stderr: (text) => stderr.push(text),
      env: {},
      stdoutIsTTY: false,
      stopSignal: (second) => {
        onSecond = second;
        return new Promise((resolve) => (fire = resolve));
      },
    },
    stderr,
    signal: () => fire('SIGTERM'),
    second: () => onSecond(),
  };
}

const log = pino({ level: 'silent' });

function service(overrides: Partial<Service> = {}): Service & { stops: number } {
  const s = { stops: 0, start: async () => undefined, stop: async () => void s.stops++, ...overrides };
  return s;
}

describe('runService', () => {
  it('starts, waits for a stop signal, stops and exits 0', async () => {
    const t = io();
    const svc = service();
    const run = runService({ name: 'pb', what: 'thing', service: svc, log, io: t.io, stopTimeoutMs: 1_000 });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(svc.stops, 0);
    t.signal();
    assert.equal(await run, EXIT_OK);
    assert.equal(svc.stops, 1);
  });

  it('exits 2 with the message on standard error when start finds a configuration problem, and releases what started', async () => {
    const t = io();
    const svc = service({ start: async () => Promise.reject(new ConfigError(['/x: bad'])) });
    assert.equal(await runService({ name: 'pb', what: 'thing', service: svc, log, io: t.io, stopTimeoutMs: 1_000 }), EXIT_CONFIG);
    assert.match(t.stderr.join(''), /^pb: invalid configuration:\n {2}- \/x: bad/);
    assert.equal(svc.stops, 1);
  });

  it('exits 1 on any other start failure, and 2 for what the caller calls a configuration problem', async () => {
    const failing = service({ start: async () => Promise.reject(new Error('port taken')) });
    assert.equal(await runService({ name: 'pb', what: 'thing', service: failing, log, io: io().io, stopTimeoutMs: 1_000 }), EXIT_FAILURE);
    assert.equal(
      await runService({ name: 'pb', what: 'thing', service: failing, log, io: io().io, stopTimeoutMs: 1_000, isConfigProblem: (err) => (err as Error).message === 'port taken' }),
      EXIT_CONFIG,
    );
  });

  it('exits 1 when the stop fails or outlasts its timeout', async () => {
    for (const stop of [async () => Promise.reject(new Error('stuck')), () => new Promise<void>(() => undefined)]) {
      const t = io();
      const run = runService({ name: 'pb', what: 'thing', service: service({ stop }), log, io: t.io, stopTimeoutMs: 10 });
      await new Promise((resolve) => setImmediate(resolve));
      t.signal();
      assert.equal(await run, EXIT_FAILURE);
    }
  });

  it('exits 130 at once on a second signal', async () => {
    const t = io();
    const exits: number[] = [];
    void runService({ name: 'pb', what: 'thing', service: service(), log, io: t.io, stopTimeoutMs: 1_000, exit: (code) => exits.push(code) });
    t.second();
    assert.deepEqual(exits, [EXIT_INTERRUPTED]);
  });
});
