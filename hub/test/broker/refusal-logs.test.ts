import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { EmbeddedBroker } from '../../src/broker/embedded-broker.ts';
import { SqliteAgentRegistry } from '../../src/registry/sqlite-agent-registry.ts';
import { captureLogger } from '../ingest/fakes.ts';

test('repeated refused logins and garbage connections are logged once each, then counted in one line at stop, without stack traces', { timeout: 20_000 }, async () => {
  const db = new Database(':memory:');
  const { log, lines } = captureLogger();
  const registry = new SqliteAgentRegistry({ db, log, scryptCost: { N: 1024, r: 8, p: 1 } });
  await registry.create('agent-a', 'gym-1');
  const broker = new EmbeddedBroker({ registry, log, metrics: new Registry(), listen: { host: '127.0.0.1', port: 0 }, stopTimeoutMs: 2_000 });
  await broker.start();
  const port = broker.address()!.port;
  try {
    for (let i = 0; i < 4; i++) {
      const refused = await mqtt
        .connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'agent-a', username: 'agent-a', password: `guess-${i}`, protocolVersion: 4, reconnectPeriod: 0 }, false)
        .then((client) => client.endAsync(true).then(() => false))
        .catch(() => true);
      assert.ok(refused, 'a wrong secret is refused');
    }
    for (let i = 0; i < 3; i++) {
      const socket = connectTcp(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      socket.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
      await once(socket, 'close', { signal: AbortSignal.timeout(3_000) });
    }
  } finally {
    await broker.stop();
    db.close();
  }
  const messages = lines().map((l) => String(l.msg));
  assert.equal(messages.filter((m) => m === 'MQTT connection refused').length, 1, messages.join('\n'));
  assert.match(messages.find((m) => m.startsWith('MQTT connection refused (')) ?? '', /^MQTT connection refused \(repeated 3 times in the last [\d.]+ s\)$/);
  assert.equal(messages.filter((m) => m === 'connection closed: packet refused').length, 1, messages.join('\n'));
  assert.ok(
    messages.some((m) => /^connection closed: packet refused \(repeated 2 times/.test(m)),
    messages.join('\n'),
  );
  for (const l of lines()) assert.equal(JSON.stringify(l).includes('    at '), false, `no stack trace in: ${String(l.msg)}`);
});
