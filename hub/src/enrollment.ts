/**
 * What `pulsebridge-hub agent add` prints: how the new agent reaches the broker, worked out from the hub's own
 * configuration, and an agent configuration that keeps the secret in a file and turns the simulator off, so
 * that a real box never sends simulated readings under its id.
 */
import { hostname } from 'node:os';
import { stringify as toYaml } from 'yaml';
import type { AgentToolConfig } from './config.ts';

/** Where `agent add` tells the agent to keep its secret unless --secret-file says otherwise: the agent's working directory. */
export function defaultSecretFile(agentId: string): string {
  return `${agentId}.secret`;
}

export interface AgentMqttUrl {
  url: string;
  /** Said beside the snippet when the URL is a guess the operator should check. */
  note?: string;
}

const ANY_ADDRESS = new Set(['0.0.0.0', '::', '[::]']);

function urlHost(host: string): string {
  if (ANY_ADDRESS.has(host)) return hostname();
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The broker URL agents use: mqtt.publicUrl when set; with the embedded broker, its TCP listener (mqtts:// with
 * TLS) or, when TCP is off, MQTT over WebSocket on the HTTP port. An external broker's agent listener is not
 * in the hub's configuration (the hub has its own listener there), so without publicUrl it is a placeholder.
 */
export function agentMqttUrl(config: AgentToolConfig): AgentMqttUrl {
  const mqtt = config.mqtt;
  if (mqtt.publicUrl !== undefined) return { url: mqtt.publicUrl };
  if (mqtt.mode === 'external') {
    return {
      url: 'mqtt://<broker-host>:1883',
      note: "mqtt.publicUrl is not set in the hub's configuration: replace <broker-host>:1883 with the broker's agent listener.",
    };
  }
  const listensEverywhere = ANY_ADDRESS.has(mqtt.tcp ? mqtt.host : config.http.host);
  const note = listensEverywhere
    ? `The hub listens on every address; ${hostname()} is this machine's name. Set mqtt.publicUrl in the hub's configuration if agents know it by another.`
    : undefined;
  const url = mqtt.tcp
    ? `${mqtt.tls ? 'mqtts' : 'mqtt'}://${urlHost(mqtt.host)}:${mqtt.port}`
    : `${config.http.tls ? 'wss' : 'ws'}://${urlHost(config.http.host)}:${config.http.port}${mqtt.websocketPath}`;
  return note === undefined ? { url } : { url, note };
}

/**
 * What the API's /enroll tells an agent besides its secret, from the running hub: the ports it actually bound
 * replace configured port 0, so that a hub on ephemeral ports (tests, demo) hands out a URL that works.
 */
export function enrollmentInfoOf(config: AgentToolConfig, bound: { mqttPort?: number | undefined; httpPort?: number | undefined }): { mqttUrl: string; topicRoot: string } {
  const running: AgentToolConfig = {
    ...config,
    mqtt: { ...config.mqtt, port: bound.mqttPort ?? config.mqtt.port },
    http: { ...config.http, port: bound.httpPort ?? config.http.port },
  };
  return { mqttUrl: agentMqttUrl(running).url, topicRoot: config.topicRoot };
}

/** The agent configuration for a newly enrolled agent, as YAML. */
export function agentConfigSnippet(options: { agentId: string; url: string; secretFile: string; topicRoot: string }): string {
  return toYaml({
    agent: { id: options.agentId },
    hub: { url: options.url, password: { file: options.secretFile }, topicRoot: options.topicRoot },
    sources: { simulator: { enabled: false } },
  });
}

export interface EnrollmentText {
  agentId: string;
  gym: string;
  secret: string;
  secretFile: string;
  url: AgentMqttUrl;
  topicRoot: string;
  /** External broker: the line for Mosquitto's agents password file. */
  mosquittoPasswordLine?: string | undefined;
}

/** The human-readable enrollment: the secret once, how to store it, broker notes, and the agent configuration last. */
export function enrollmentText(e: EnrollmentText): string {
  const lines = [
    `Enrolled agent ${e.agentId} for gym ${e.gym}.`,
    '',
    "Its secret is shown this once (the hub keeps only a hash of it). On the agent's box, store it in a file only",
    'the agent can read; a relative path is relative to the directory the agent runs in (--secret-file chooses another):',
    '',
    `  (umask 077 && printf '%s\\n' '${e.secret}' > ${shellWord(e.secretFile)})`,
    '',
  ];
  if (e.mosquittoPasswordLine !== undefined) {
    lines.push(
      'External broker: append this line to the agents password file (deploy/mosquitto: agents.passwd), then reload',
      'Mosquitto (kill -HUP <pid>):',
      '',
      e.mosquittoPasswordLine,
      '',
    );
  }
  if (e.url.note !== undefined) lines.push(e.url.note, '');
  if (/^(mqtts|wss):/.test(e.url.url)) {
    lines.push('The broker uses TLS: when its certificate is not signed by a CA the box trusts, copy that CA to the box and add hub.tls.ca.', '');
  }
  lines.push('Agent configuration (agent.yaml; the simulator is off, turn on the sources the box has):', '', agentConfigSnippet({ ...e, url: e.url.url }).trimEnd(), '');
  return `${lines.join('\n')}\n`;
}

/** A path as one shell word: quoted unless it is plainly safe. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}
