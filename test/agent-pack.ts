/**
 * Many edge agents in one process, for the scale-out system tests and the replicas benchmark: each is the real
 * Agent (simulator source → SQLite outbox → MQTT uplink), with its own data folder, outbox and broker
 * connection; only the process is shared, because 50 node processes would not fit on a 2-core machine.
 *
 *   node --import tsx test/agent-pack.ts <spec.json>
 *
 * Serves GET /agents on spec.port (0: a free one, printed as `{"listening":port}` on stdout): every agent's id,
 * outbox and uplink figures and its source's readings; POST /sources/stop stops every simulator (the uplinks
 * carry on). SIGTERM stops every agent cleanly (their outboxes keep
 * what was not acknowledged) and exits.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Agent } from '../edge-agent/src/agent.ts';
import { loadAgentConfig } from '../edge-agent/src/config.ts';

export interface AgentPackSpec {
  dir: string;
  mqttUrl: string;
  agents: { id: string; secret: string; seed: number }[];
  simulator: Record<string, unknown>;
  uplink?: Record<string, unknown>;
  port?: number;
}

export interface PackedAgent {
  id: string;
  outbox: { readings: number; buffered: number; appended: number; acceptedTotal: number; acknowledged: number };
  uplink: { state: string; batchesResent?: number; ackTimeouts?: number } & Record<string, unknown>;
  source: { state: string; readings: number };
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as AgentPackSpec;
const log = pino({ level: 'warn' });
const agents = spec.agents.map(
  ({ id, secret, seed }) =>
    new Agent(
      loadAgentConfig({
        env: {},
        overrides: {
          agent: { id, dataDir: join(spec.dir, id) },
          hub: { url: spec.mqttUrl, password: secret },
          uplink: { reconnectMinMs: 100, reconnectMaxMs: 1_000, ackTimeoutMs: 3_000, ...spec.uplink },
          health: { host: '127.0.0.1', port: 0 },
          sources: { simulator: { enabled: true, ...spec.simulator, seed } },
          log: { level: 'warn', pretty: false },
        },
      }),
      { log },
    ),
);

function report(): PackedAgent[] {
  return agents.map((agent) => {
    const health = agent.health() as unknown as { outbox: PackedAgent['outbox']; uplink: PackedAgent['uplink']; sources: Record<string, { state: string; readings: number }> };
    return { id: agent.config.agent.id, outbox: health.outbox, uplink: health.uplink, source: health.sources['simulator'] ?? { state: 'missing', readings: 0 } };
  });
}

const server = createServer((req, res) => {
  const reply = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.url === '/agents') return reply(200, report());
  // The simulators stop producing; the uplinks go on until every outbox is acknowledged.
  if (req.url === '/sources/stop' && req.method === 'POST') {
    void Promise.all(agents.flatMap((agent) => agent.sources.map((source) => source.stop()))).then(
      () => reply(200, { stopped: true }),
      (err: unknown) => reply(500, { error: String(err) }),
    );
    return;
  }
  reply(404, { error: 'not_found' });
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(agents.map((agent) => agent.stop()));
  server.close();
  process.stdout.write(`${JSON.stringify({ stopped: report().map((a) => ({ id: a.id, acceptedTotal: a.outbox.acceptedTotal, left: a.outbox.readings })) })}\n`);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

await Promise.all(agents.map((agent) => agent.start()));
server.listen(spec.port ?? 0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ listening: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
