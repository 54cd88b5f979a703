/**
 * Schemas of the routes that create, enroll, revoke and remove edge agents (agent-admin-routes.ts): validation,
 * handler types and the OpenAPI document.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AgentIdParam, GymParam } from './schemas.ts';

export const CreateAgentBody = Type.Object({ id: AgentIdParam, gym: GymParam }, { additionalProperties: false });
export type CreateAgentBody = Static<typeof CreateAgentBody>;

export const EnrollmentIssued = Type.Object(
  {
    id: Type.String(),
    gym: Type.String(),
    code: Type.String({ description: 'One-time code for `pulsebridge-agent enroll --code`; shown only here, the hub keeps a hash' }),
    expiresAt: Type.String({ format: 'date-time', description: 'The code is refused from this time on' }),
  },
  { description: 'An enrollment code for the agent; any earlier unused code of the agent no longer works' },
);
export type EnrollmentIssued = Static<typeof EnrollmentIssued>;

export const AgentAccessState = Type.Object({
  id: Type.String(),
  gym: Type.String(),
  disabled: Type.Boolean({ description: 'A disabled agent cannot connect until enabled again' }),
});
export type AgentAccessState = Static<typeof AgentAccessState>;

export const AgentRemoved = Type.Object({ id: Type.String(), removed: Type.Literal(true) });
export type AgentRemoved = Static<typeof AgentRemoved>;

export const EnrollBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 64, description: 'The enrollment code as given; case, spaces and dashes do not matter' }) },
  { additionalProperties: false },
);
export type EnrollBody = Static<typeof EnrollBody>;

export const Enrolled = Type.Object(
  {
    agentId: Type.String(),
    gym: Type.String(),
    mqttUrl: Type.String({ description: 'Where the agent connects' }),
    topicRoot: Type.String(),
    secret: Type.String({ description: "The agent's MQTT password; shown only here, the hub keeps a hash" }),
    caPem: Type.Optional(Type.String({ description: "PEM of the CA that signed the hub's certificates, when it is not a public one" })),
    caFingerprint: Type.Optional(Type.String({ description: 'SHA-256 fingerprint of that CA certificate, hex' })),
  },
  { description: "The agent's credentials and how it reaches the hub" },
);
export type Enrolled = Static<typeof Enrolled>;
