/**
 * The MQTT section of the hub's configuration: the embedded broker (listeners, TLS, WebSocket) or an external
 * broker the hub subscribes to. The schema, and the rules across its fields that the schema cannot express.
 */
import { accessSync, constants } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { SecretRef } from '@pulsebridge/runtime';
import { ServerTls, serverTlsProblems } from '../tls/config.ts';

/** A TCP port; 0 picks a free one. */
export const Port = (fallback: number, description: string) => Type.Integer({ minimum: 0, maximum: 65_535, default: fallback, description });

/**
 * The hub as Mosquitto's dynamic security admin (mqtt.external.agentAccounts: dynamic-security). With
 * per_listener_settings true the plugin serves only the listener it is configured on, the agents' listener, and
 * only there does `$CONTROL/dynamic-security/v1` reach it: so this is a second connection, to that listener,
 * with an account of the plugin's own (deploy/mosquitto/README.md).
 */
export const DynamicSecuritySection = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: '^(mqtts?|wss?|tcp|ssl)://', description: "The agents' listener, where the plugin runs; default mqtt.publicUrl" })),
    username: Type.Optional(Type.String({ minLength: 1, description: "The hub's dynsec admin client (one per hub replica: the agents' listener forces client id = username)" })),
    password: Type.Optional(SecretRef),
    caFile: Type.Optional(Type.String({ minLength: 1, description: "PEM file of the CA that signed the agents' listener certificate; default external.caFile" })),
    commandTimeoutMs: Type.Integer({ minimum: 100, default: 5_000, description: "How long an account change waits for the plugin's answer" }),
  },
  { additionalProperties: false, default: {} },
);
export type DynamicSecuritySection = Static<typeof DynamicSecuritySection>;

export const ExternalBrokerSection = Type.Object(
  {
    url: Type.String({ pattern: '^(mqtts?|wss?|tcp|ssl)://', default: 'mqtt://127.0.0.1:1883', description: 'The external broker' }),
    username: Type.Optional(Type.String({ minLength: 1, description: "The hub's own account on the broker" })),
    password: Type.Optional(SecretRef),
    clientId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Stable per replica, so its session survives a reconnect; default pulsebridge-hub-<hostname>' }),
    ),
    sharedSubscriptions: Type.Boolean({ default: true, description: 'Subscribe with $share/<shareGroup>/ so replicas split the load; off for brokers without them' }),
    shareGroup: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'pulsebridge-hub' }),
    protocolVersion: Type.Union([Type.Literal(4), Type.Literal(5)], { default: 5, description: 'MQTT 5 (5) or 3.1.1 (4)' }),
    sessionExpirySeconds: Type.Integer({
      minimum: 0,
      maximum: 4_294_967_295,
      default: 3_600,
      description: 'How long the broker keeps queueing agent messages for a disconnected hub (MQTT 5)',
    }),
    keepaliveSeconds: Type.Integer({ minimum: 0, maximum: 65_535, default: 30 }),
    connectTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
    reconnectMinMs: Type.Integer({ minimum: 10, default: 500 }),
    reconnectMaxMs: Type.Integer({ minimum: 10, default: 30_000 }),
    publishTimeoutMs: Type.Integer({ minimum: 100, default: 10_000, description: 'How long an ack or command may wait for its PUBACK' }),
    caFile: Type.Optional(Type.String({ minLength: 1, description: "PEM file of the CA that signed the broker's certificate (mqtts, wss)" })),
    agentAccounts: Type.Union([Type.Literal('password-file'), Type.Literal('dynamic-security')], {
      default: 'password-file',
      description:
        "Where the broker's agent accounts live: a password file the operator edits, or Mosquitto's dynamic security plugin the hub drives (enroll, disable, rotate take effect at once)",
    }),
    dynamicSecurity: DynamicSecuritySection,
  },
  { additionalProperties: false, default: {} },
);
export type ExternalBrokerSection = Static<typeof ExternalBrokerSection>;

/** Failed MQTT logins to the embedded broker (login-throttle.ts). */
export const LoginThrottleSection = Type.Object(
  {
    maxFailuresPerAddress: Type.Integer({ minimum: 1, default: 20, description: 'Failed logins from one client address within windowMs before it is blocked' }),
    maxFailuresPerAgent: Type.Integer({ minimum: 1, default: 5, description: 'Failed logins for one agent id within windowMs before it is blocked' }),
    windowMs: Type.Integer({ minimum: 1, default: 60_000, description: 'The window failures are counted in' }),
    blockMs: Type.Integer({ minimum: 0, default: 60_000, description: 'How long a blocked address or agent id is refused without checking its secret; 0 turns throttling off' }),
    maxTrackedKeys: Type.Integer({ minimum: 1, default: 10_000, description: 'Addresses, and agent ids, remembered at most each' }),
  },
  { additionalProperties: false, default: {} },
);
export type LoginThrottleSection = Static<typeof LoginThrottleSection>;

export const MqttSection = Type.Object(
  {
    mode: Type.Union([Type.Literal('embedded'), Type.Literal('external')], { default: 'embedded' }),
    host: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Embedded broker: TCP listen address' }),
    port: Port(1883, 'Embedded broker: TCP port; 0 picks a free port'),
    tcp: Type.Boolean({ default: true, description: 'Embedded broker: listen on TCP (else WebSocket only)' }),
    websocket: Type.Boolean({ default: true, description: 'Embedded broker: accept MQTT over WebSocket on the HTTP port' }),
    websocketPath: Type.String({ pattern: '^/', default: '/mqtt' }),
    maxPacketBytes: Type.Integer({ minimum: 1_024, maximum: 268_435_455, default: 1_048_576, description: 'Embedded broker: larger packets close the connection' }),
    tls: Type.Optional(
      Type.Composite([ServerTls], {
        additionalProperties: false,
        description: 'Embedded broker: serve MQTT over TLS on the TCP port (certFile and keyFile, or dev: true for the certificate http.tls dev uses)',
      }),
    ),
    loginThrottle: LoginThrottleSection,
    publicUrl: Type.Optional(Type.String({ pattern: '^(mqtts?|wss?)://', description: 'How agents reach the broker; printed by `agent add`' })),
    external: ExternalBrokerSection,
  },
  { additionalProperties: false, default: {} },
);
export type MqttSection = Static<typeof MqttSection>;

const TLS_URL = /^(mqtts|wss|ssl):\/\//;

/** A file the hub reads at start: refused at load when it cannot be read. */
function unreadable(file: string): string | undefined {
  try {
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read';
  }
}

export function mqttConfigProblems(mqtt: MqttSection, path: string): string[] {
  const problems: string[] = [];
  const readable = (field: string, file: string | undefined): void => {
    const why = file === undefined ? undefined : unreadable(file);
    if (why) problems.push(`${path}/${field}: ${file}: ${why}`);
  };
  if (mqtt.mode === 'external') {
    const external = mqtt.external;
    if (external.password !== undefined && external.username === undefined) problems.push(`${path}/external/password: set only together with ${path}/external/username`);
    if (external.reconnectMinMs > external.reconnectMaxMs) problems.push(`${path}/external/reconnectMinMs: must not exceed reconnectMaxMs`);
    if (external.caFile !== undefined && !TLS_URL.test(external.url)) {
      problems.push(`${path}/external/caFile: set, but ${external.url} is not a TLS URL (mqtts://, wss:// or ssl://)`);
    }
    readable('external/caFile', external.caFile);
    problems.push(...dynamicSecurityProblems(mqtt, `${path}/external`));
    if (mqtt.tls !== undefined) problems.push(`${path}/tls: serves the embedded broker only; with mode external the agents' TLS is the external broker's`);
    return problems;
  }
  if (!mqtt.tcp && !mqtt.websocket) problems.push(`${path}: the embedded broker needs tcp or websocket enabled, or agents cannot connect`);
  if (mqtt.tls !== undefined) {
    if (!mqtt.tcp) problems.push(`${path}/tls: TLS serves the TCP listener, which is turned off (${path}/tcp: false)`);
    problems.push(...serverTlsProblems(mqtt.tls, `${path}/tls`));
  }
  return problems;
}

function dynamicSecurityProblems(mqtt: MqttSection, path: string): string[] {
  const dynsec = mqtt.external.dynamicSecurity;
  const at = `${path}/dynamicSecurity`;
  if (mqtt.external.agentAccounts !== 'dynamic-security') {
    const set = (['url', 'username', 'password', 'caFile'] as const).filter((field) => dynsec[field] !== undefined);
    return set.length === 0 ? [] : [`${at}: ${set.join(', ')} set, but ${path}/agentAccounts is password-file`];
  }
  const problems: string[] = [];
  if (dynsec.username === undefined) problems.push(`${at}/username: required with agentAccounts dynamic-security (the plugin's admin client for the hub)`);
  if (dynsec.password === undefined) problems.push(`${at}/password: required with agentAccounts dynamic-security`);
  const url = dynsec.url ?? mqtt.publicUrl;
  if (url === undefined) problems.push(`${at}/url: required with agentAccounts dynamic-security when mqtt.publicUrl is not set (the agents' listener, where the plugin runs)`);
  if (dynsec.caFile !== undefined) {
    if (url !== undefined && !TLS_URL.test(url)) problems.push(`${at}/caFile: set, but ${url} is not a TLS URL (mqtts://, wss:// or ssl://)`);
    const why = unreadable(dynsec.caFile);
    if (why) problems.push(`${at}/caFile: ${dynsec.caFile}: ${why}`);
  }
  return problems;
}

/** Where the hub reaches the dynamic security plugin: the configured URL, else the agents' public one. */
export function dynamicSecurityUrl(mqtt: MqttSection): string | undefined {
  return mqtt.external.dynamicSecurity.url ?? mqtt.publicUrl;
}
