/**
 * Every operation the API serves, described once: the router mounts them (app.ts), the access gate reads who
 * may call each (its roles, its scope, where its gym comes from), and the OpenAPI document is generated from
 * them (openapi.ts).
 */
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { ADMINS, PUBLIC, STAFF } from './access.ts';
import {
  AgentList,
  AgentPathParams,
  AgentsQuery,
  Agent,
  Health,
  LiveEvent,
  LiveQuery,
  Readiness,
  ReadingsPage,
  ReadingsQuery,
  Rollups,
  RollupsQuery,
  SeriesList,
  SeriesQuery,
} from './schemas.ts';
import {
  UnsyncedBootList,
  UnsyncedBootParams,
  UnsyncedCorrected,
  UnsyncedCorrectionBody,
  UnsyncedDiscarded,
  UnsyncedReadingsPage,
  UnsyncedReadingsQuery,
} from './unsynced-schemas.ts';
import { AuditPageSchema, AuditQuery } from './audit-schemas.ts';
import { AppleAppSiteAssociation, AssetLinks } from './deep-links.ts';
import { AgentAccessState, AgentRemoved, CreateAgentBody, EnrollBody, Enrolled, EnrollmentIssued } from './agent-admin-schemas.ts';
import { InviteBody, InviteCreated } from './invites-routes.ts';
import { GYMS_OPERATIONS } from './gyms-operations.ts';
import { PROFILE_OPERATIONS } from './profile-operations.ts';
import { EQUIPMENT_OPERATIONS } from './equipment-operations.ts';
import { SOCIAL_OPERATIONS } from './social-operations.ts';
import { TRAININGS_OPERATIONS } from './trainings-operations.ts';
import { CLASSES_OPERATIONS } from './classes-operations.ts';
import { PAIRING_OPERATIONS } from './pairing-operations.ts';
import { PHOTOS_OPERATIONS } from './photos-operations.ts';
import { WEBHOOKS_OPERATIONS } from './webhooks-operations.ts';
import { RUNS_OPERATIONS } from './runs-operations.ts';
import { SESSION_FILES_OPERATIONS } from './session-files-operations.ts';
import { SESSIONS_OPERATIONS } from './sessions-operations.ts';
import { BOARD_OPERATIONS } from './board-operations.ts';
import { ACCOUNT_OPERATIONS } from './account-operations.ts';

export type { Access } from './access.ts';

export { API_PREFIX, type HttpMethod, type Operation } from './operation.ts';

/** The gym domain's operations, each feature's in its own table (and its handlers in the matching *-routes.ts). */
export const FEATURE_OPERATIONS = {
  ...GYMS_OPERATIONS,
  ...PROFILE_OPERATIONS,
  ...EQUIPMENT_OPERATIONS,
  ...SOCIAL_OPERATIONS,
  ...TRAININGS_OPERATIONS,
  ...CLASSES_OPERATIONS,
  ...PAIRING_OPERATIONS,
  ...PHOTOS_OPERATIONS,
  ...SESSION_FILES_OPERATIONS,
  ...WEBHOOKS_OPERATIONS,
  ...RUNS_OPERATIONS,
  ...SESSIONS_OPERATIONS,
  ...BOARD_OPERATIONS,
  ...ACCOUNT_OPERATIONS,
} as const satisfies Record<string, Operation>;
export type FeatureOperationName = keyof typeof FEATURE_OPERATIONS;

export const OPERATIONS = {
  ...FEATURE_OPERATIONS,
  healthz: {
    operationId: 'getHealth',
    path: '/healthz',
    tag: 'operations',
    summary: 'Liveness: 200 while the process serves requests',
    access: PUBLIC,
    response: { description: 'Alive', contentType: JSON_TYPE, schema: Health },
    problems: [],
  },
  readyz: {
    operationId: 'getReadiness',
    path: '/readyz',
    tag: 'operations',
    summary: 'Readiness: 200 when every dependency is usable, 503 with the failing checks otherwise',
    access: PUBLIC,
    response: { description: 'Ready (the same body comes with 503 when not ready)', contentType: JSON_TYPE, schema: Readiness },
    problems: [],
  },
  metrics: {
    operationId: 'getMetrics',
    path: '/metrics',
    tag: 'operations',
    summary: 'Prometheus metrics',
    access: PUBLIC,
    response: { description: 'Prometheus text exposition format', contentType: 'text/plain; version=0.0.4' },
    problems: [],
  },
  listAgents: {
    operationId: 'listAgents',
    path: `${API_PREFIX}/agents`,
    tag: 'agents',
    summary: 'Edge agents the hub knows, with their last reported state',
    access: { roles: STAFF, scope: 'agents:read', gym: 'query' },
    query: AgentsQuery,
    response: { description: 'All agents', contentType: JSON_TYPE, schema: AgentList },
    problems: ['invalid_parameter'],
  },
  getAgent: {
    operationId: 'getAgent',
    path: `${API_PREFIX}/agents/:id`,
    tag: 'agents',
    summary: 'One edge agent',
    access: { roles: STAFF, scope: 'agents:read', gym: 'agent' },
    params: AgentPathParams,
    response: { description: 'The agent', contentType: JSON_TYPE, schema: Agent },
    problems: ['invalid_parameter', 'not_found'],
  },
  createAgent: {
    operationId: 'createAgent',
    method: 'post',
    path: `${API_PREFIX}/agents`,
    tag: 'agents',
    summary: 'Creates an edge agent in a gym and returns its one-time enrollment code',
    description: 'The agent holds no credentials until `pulsebridge-agent enroll` redeems the code at /enroll. The code expires (15 minutes by ' + 'default) and works once.',
    access: { roles: ADMINS, scope: 'agents:write', gym: 'body' },
    body: CreateAgentBody,
    response: { description: 'Created, with the code', contentType: JSON_TYPE, schema: EnrollmentIssued, status: 201 },
    problems: ['invalid_parameter', 'conflict'],
  },
  issueEnrollment: {
    operationId: 'issueAgentEnrollment',
    method: 'post',
    path: `${API_PREFIX}/agents/:id/enrollment`,
    tag: 'agents',
    summary: 'A new enrollment code for an agent; its earlier unused codes stop working',
    description: "The agent's current credentials stay valid until the new code is redeemed. To revoke them now, use /rotate.",
    access: { roles: ADMINS, scope: 'agents:write', gym: 'agent' },
    params: AgentPathParams,
    response: { description: 'The new code', contentType: JSON_TYPE, schema: EnrollmentIssued },
    problems: ['invalid_parameter', 'not_found'],
  },
  disableAgent: {
    operationId: 'disableAgent',
    method: 'post',
    path: `${API_PREFIX}/agents/:id/disable`,
    tag: 'agents',
    summary: 'Disconnects the agent now and refuses its connections until it is enabled',
    access: { roles: ADMINS, scope: 'agents:write', gym: 'agent' },
    params: AgentPathParams,
    response: { description: 'Disabled', contentType: JSON_TYPE, schema: AgentAccessState },
    problems: ['invalid_parameter', 'not_found'],
  },
  enableAgent: {
    operationId: 'enableAgent',
    method: 'post',
    path: `${API_PREFIX}/agents/:id/enable`,
    tag: 'agents',
    summary: 'Accepts the connections of a disabled agent again',
    access: { roles: ADMINS, scope: 'agents:write', gym: 'agent' },
    params: AgentPathParams,
    response: { description: 'Enabled', contentType: JSON_TYPE, schema: AgentAccessState },
    problems: ['invalid_parameter', 'not_found'],
  },
  rotateAgent: {
    operationId: 'rotateAgentCredentials',
    method: 'post',
    path: `${API_PREFIX}/agents/:id/rotate`,
    tag: 'agents',
    summary: "Revokes the agent's credentials now, disconnects it, and returns a code to enroll it again",
    access: { roles: ADMINS, scope: 'agents:write', gym: 'agent' },
    params: AgentPathParams,
    response: { description: 'The code that gives the agent new credentials', contentType: JSON_TYPE, schema: EnrollmentIssued },
    problems: ['invalid_parameter', 'not_found'],
  },
  removeAgent: {
    operationId: 'removeAgent',
    method: 'delete',
    path: `${API_PREFIX}/agents/:id`,
    tag: 'agents',
    summary: 'Removes the agent and disconnects it now; its stored readings stay',
    access: { roles: ADMINS, scope: 'agents:write', gym: 'agent' },
    params: AgentPathParams,
    response: { description: 'Removed', contentType: JSON_TYPE, schema: AgentRemoved },
    problems: ['invalid_parameter', 'not_found'],
  },
  enroll: {
    operationId: 'enrollAgent',
    method: 'post',
    path: `${API_PREFIX}/enroll`,
    tag: 'agents',
    summary: "Exchanges a one-time enrollment code for the agent's credentials",
    description:
      'Needs no token: the code is the credential. A code that is unknown, expired or already used is refused with the same ' + 'answer, so the answer tells nothing about which.',
    access: PUBLIC,
    body: EnrollBody,
    response: { description: 'Credentials, shown once', contentType: JSON_TYPE, schema: Enrolled },
    problems: ['invalid_parameter', 'unavailable'],
  },
  listSeries: {
    operationId: 'listSeries',
    path: `${API_PREFIX}/series`,
    tag: 'readings',
    summary: 'Series (gym, agent, sensor, metric) with stored readings, one page at a time',
    description:
      'Ordered by gym, agent, sensor, then metric. Follow `nextCursor` (or the `next` URL, or the `Link: rel="next"` header) ' +
      'until it is absent to list every matching series exactly once.',
    access: { roles: STAFF, scope: 'readings:read', gym: 'query' },
    query: SeriesQuery,
    response: { description: 'A page of matching series', contentType: JSON_TYPE, schema: SeriesList },
    problems: ['invalid_parameter', 'unavailable'],
  },
  readings: {
    operationId: 'getReadings',
    path: `${API_PREFIX}/readings`,
    tag: 'readings',
    summary: 'Raw readings of one sensor and metric, oldest first, one page at a time',
    description: 'Follow `nextCursor` (or the `next` URL, or the `Link: rel="next"` header) until it is absent to read every reading in ' + '[from, to) exactly once.',
    access: { roles: STAFF, scope: 'readings:read', gym: 'query' },
    query: ReadingsQuery,
    response: { description: 'A page of readings', contentType: JSON_TYPE, schema: ReadingsPage },
    problems: ['invalid_parameter', 'range_too_large', 'unavailable'],
  },
  rollups: {
    operationId: 'getRollups',
    path: `${API_PREFIX}/rollups`,
    tag: 'readings',
    summary: 'Min, max, mean and count of one sensor and metric per time step',
    access: { roles: STAFF, scope: 'readings:read', gym: 'query' },
    query: RollupsQuery,
    response: { description: 'One entry per step that has readings', contentType: JSON_TYPE, schema: Rollups },
    problems: ['invalid_parameter', 'range_too_large', 'too_many_steps', 'unavailable'],
  },
  live: {
    operationId: 'streamLive',
    path: `${API_PREFIX}/live`,
    tag: 'live',
    summary: 'Server-Sent Events of readings as the hub stores them',
    description:
      'Each `readings` event carries the JSON described here in its data line. A comment line arrives every 15 s so idle ' +
      'connections stay open through proxies. A client that falls too far behind is disconnected; reconnect to resume ' +
      '(readings missed meanwhile are in /readings). Accepts `?access_token=` because EventSource cannot set headers.',
    access: { roles: STAFF, scope: 'readings:read', gym: 'query', tokenInQuery: true },
    query: LiveQuery,
    response: { description: 'text/event-stream of `readings` events', contentType: 'text/event-stream', schema: LiveEvent },
    problems: ['invalid_parameter', 'too_many_clients', 'unavailable'],
  },
  listUnsynced: {
    operationId: 'listUnsyncedBoots',
    path: `${API_PREFIX}/agents/:id/unsynced`,
    tag: 'unsynced',
    summary: "Boots of one agent whose readings are held apart because the boot's clock was never confirmed",
    description:
      "Readings stamped by a boot that never met the hub carry that boot's own wall clock, which may be hours or years off. " +
      'They are stored, but kept out of /readings, /rollups and /live until corrected or discarded.',
    access: { roles: STAFF, scope: 'readings:read', gym: 'agent' },
    params: AgentPathParams,
    response: { description: 'The boots held, by boot id (empty when none)', contentType: JSON_TYPE, schema: UnsyncedBootList },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  readUnsynced: {
    operationId: 'getUnsyncedReadings',
    path: `${API_PREFIX}/agents/:id/unsynced/:boot/readings`,
    tag: 'unsynced',
    summary: 'Readings held of one boot, at their stamped times, one page at a time',
    description: 'Follow `nextCursor` (or the `next` URL, or the `Link: rel="next"` header) until it is absent to read every reading exactly once.',
    access: { roles: STAFF, scope: 'readings:read', gym: 'agent' },
    params: UnsyncedBootParams,
    query: UnsyncedReadingsQuery,
    response: { description: 'A page of readings', contentType: JSON_TYPE, schema: UnsyncedReadingsPage },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  correctUnsynced: {
    operationId: 'correctUnsyncedBoot',
    method: 'post',
    path: `${API_PREFIX}/agents/:id/unsynced/:boot/correction`,
    tag: 'unsynced',
    summary: "Moves one boot's readings into their series, each at its stamped time plus an offset",
    description:
      "Give `offsetMs`, or a pair: `stamped` (a time as the boot's clock showed it) and `actual` (the true time then). Corrected " +
      'readings pass the checks of any reading; those refused are discarded and counted. Once done the boot is gone: a repeated ' +
      'request answers 404 and moves nothing twice.',
    access: { roles: ADMINS, scope: 'readings:write', gym: 'agent' },
    params: UnsyncedBootParams,
    body: UnsyncedCorrectionBody,
    response: { description: 'What was moved', contentType: JSON_TYPE, schema: UnsyncedCorrected },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  discardUnsynced: {
    operationId: 'discardUnsyncedBoot',
    method: 'delete',
    path: `${API_PREFIX}/agents/:id/unsynced/:boot`,
    tag: 'unsynced',
    summary: 'Deletes every reading held of one boot',
    access: { roles: ADMINS, scope: 'readings:write', gym: 'agent' },
    params: UnsyncedBootParams,
    response: { description: 'How many readings were deleted', contentType: JSON_TYPE, schema: UnsyncedDiscarded },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  listAudit: {
    operationId: 'listAuditEvents',
    path: `${API_PREFIX}/audit`,
    tag: 'audit',
    summary: 'Security events (sign-ins, failures, second-factor changes, enrollments, revocations), newest first',
    description:
      "A gym admin sees their gym's events; a platform admin sees every gym's, and without `gym` also the events of no gym " +
      '(failed sign-ins of unknown accounts, platform changes). Follow `nextCursor` (or `next`, or `Link: rel="next"`) for older events.',
    access: { roles: ADMINS, scope: 'audit:read', gym: 'query' },
    query: AuditQuery,
    response: { description: 'A page of events', contentType: JSON_TYPE, schema: AuditPageSchema },
    problems: ['invalid_parameter', 'unavailable'],
  },
  createInvite: {
    operationId: 'createInvite',
    method: 'post',
    path: `${API_PREFIX}/invites`,
    tag: 'members',
    summary: 'Invites a person to a gym as an athlete or a coach: a single-use sign-up link, also mailed to them',
    description:
      'The link opens the sign-up page, where the invited person chooses a name and a password; an account that already has ' +
      'this email only gets the membership. The link works once, until `expiresAt`.',
    access: { roles: ADMINS, scope: 'members:write', gym: 'body' },
    body: InviteBody,
    response: { description: 'The invite (201)', contentType: JSON_TYPE, schema: InviteCreated },
    problems: ['invalid_parameter', 'unavailable'],
  },
  assetLinks: {
    operationId: 'getAssetLinks',
    path: '/.well-known/assetlinks.json',
    tag: 'deep links',
    summary: 'Digital Asset Links: lets the Android apps open hub URLs (OAuth redirects, shared links) and share sign-in credentials',
    access: PUBLIC,
    response: { description: 'The statements configured in deepLinks.android', contentType: JSON_TYPE, schema: AssetLinks },
    problems: ['not_found'],
  },
  appleAppSiteAssociation: {
    operationId: 'getAppleAppSiteAssociation',
    path: '/.well-known/apple-app-site-association',
    tag: 'deep links',
    summary: 'Universal links and shared web credentials for the iOS apps',
    access: PUBLIC,
    response: { description: 'Built from deepLinks.apple', contentType: JSON_TYPE, schema: AppleAppSiteAssociation },
    problems: ['not_found'],
  },
  openapi: {
    operationId: 'getOpenApi',
    path: `${API_PREFIX}/openapi.json`,
    tag: 'meta',
    summary: 'This API described in OpenAPI 3.1',
    access: PUBLIC,
    response: { description: 'OpenAPI document', contentType: JSON_TYPE },
    problems: [],
  },
  docs: {
    operationId: 'getDocs',
    path: `${API_PREFIX}/docs`,
    tag: 'meta',
    summary: 'This API described for humans',
    access: PUBLIC,
    response: { description: 'HTML page', contentType: 'text/html' },
    problems: [],
  },
} as const satisfies Record<string, Operation>;

export type OperationName = keyof typeof OPERATIONS;
