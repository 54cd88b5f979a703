/**
 * Builds the AsyncAPI 3 document of the MQTT contract from the same schemas the validators use.
 * `npm run asyncapi` writes it to protocol/asyncapi.json; a test fails when the checked-in copy is stale.
 */
import type { TSchema } from '@sinclair/typebox';
import { METRICS } from './metrics.ts';
import { MESSAGE_KINDS, MESSAGE_KIND_NAMES, PROTOCOL_VERSION } from './topics.ts';

/** TypeBox schemas carry symbols and compiled-only keys; AsyncAPI wants plain JSON Schema. */
function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema));
}

export function buildAsyncApi(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const kind of MESSAGE_KIND_NAMES) {
    const spec = MESSAGE_KINDS[kind];
    messages[kind] = {
      name: kind,
      contentType: spec.contentType,
      summary: spec.summary,
      payload: plain(spec.schema),
      bindings: { mqtt: { qos: 1, retain: spec.retained, bindingVersion: '0.2.0' } },
    };
    channels[kind] = {
      address: `{root}/${PROTOCOL_VERSION}/{agentId}/${kind}`,
      description: spec.summary,
      parameters: {
        root: { description: 'Topic root, "pb" unless configured' },
        agentId: { description: 'The agent id; it must match the credentials the agent connected with' },
      },
      messages: { [kind]: { $ref: `#/components/messages/${kind}` } },
    };
    operations[`${spec.direction === 'agent-to-hub' ? 'publish' : 'receive'}_${kind}`] = {
      action: spec.direction === 'agent-to-hub' ? 'send' : 'receive',
      channel: { $ref: `#/channels/${kind}` },
      summary: `${spec.direction === 'agent-to-hub' ? 'Agent sends' : 'Agent receives'}: ${spec.summary}`,
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Pulsebridge agent ⇄ hub MQTT contract',
      version: PROTOCOL_VERSION,
      description:
        'Described from the point of view of an edge agent. Readings batches are MessagePack; everything else is JSON. ' +
        'Metric codes used in readings batches are listed under x-metrics.',
    },
    servers: {
      hub: { host: 'hub.example.com:8883', protocol: 'mqtts', description: 'The hub broker (embedded aedes or an external broker); username = agent id' },
    },
    channels,
    operations,
    components: { messages },
    'x-metrics': Object.fromEntries(Object.entries(METRICS).map(([id, m]) => [id, { code: m.code, unit: m.unit, decimals: m.decimals, min: m.min, max: m.max }])),
  };
}

export function renderAsyncApi(): string {
  return `${JSON.stringify(buildAsyncApi(), null, 2)}\n`;
}
