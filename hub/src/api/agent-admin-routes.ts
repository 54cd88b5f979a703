/**
 * Creating, enrolling, revoking and removing edge agents. A gym admin creates an agent and gets a one-time
 * code; the box redeems it at /enroll for its MQTT secret. Disabling, rotating and removing revoke the agent's
 * credentials and disconnect it at once. Every change is logged with who made it, never with a code or secret,
 * and reported as a security event for the audit log.
 */
import type { Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { BrokerAccounts } from '../broker/broker-accounts.ts';
import type { AgentRegistry, EnrollmentCode } from '../registry/agent-registry.ts';
import { RegistryError } from '../registry/sqlite-agent-registry.ts';
import type { ApiContext } from './context.ts';
import { ApiError, invalidParameter } from './problem.ts';
import type { AgentPathParams } from './schemas.ts';
import type { AgentAccessState, AgentRemoved, CreateAgentBody, EnrollBody, Enrolled, EnrollmentIssued } from './agent-admin-schemas.ts';

/** What an enrolling agent needs besides its secret; the composition root knows it (hub config, TLS setup). */
export interface EnrollmentInfo {
  mqttUrl: string;
  topicRoot: string;
  caPem?: string;
  caFingerprint?: string;
}

export type AgentSecurityEventType =
  'agent.created' | 'agent.enrollment_issued' | 'agent.enrolled' | 'agent.enrollment_failed' | 'agent.disabled' | 'agent.enabled' | 'agent.rotated' | 'agent.removed';

export interface AgentSecurityEvent {
  type: AgentSecurityEventType;
  /** Undefined when not known: a refused code names no gym. */
  gym: string | undefined;
  /** The principal's subject, or `agent:<id>` for an agent that redeemed its code, or `anonymous`. */
  actor: string;
  /** Never a code or a secret. */
  detail: Record<string, unknown>;
}

export interface AgentAdminOptions {
  registry: AgentRegistry;
  log: Logger;
  /** Closes the agent's broker connections now (HubTransport.disconnectAgent). */
  disconnectAgent: (id: string) => Promise<void>;
  /** Undefined: this hub does not enroll agents over the API, and /enroll answers 503. */
  enrollmentInfo: (() => EnrollmentInfo) | undefined;
  onSecurityEvent: ((event: AgentSecurityEvent) => void) | undefined;
  /** An external broker's own agent accounts, kept in step with the registry; undefined with the embedded broker. */
  brokerAccounts: BrokerAccounts | undefined;
  now: () => number;
}

type AgentInput = { params: Static<typeof AgentPathParams> };

/** The one answer to every refused code: which of unknown, expired or used it was stays in the hub. */
const REFUSED_CODE = 'this enrollment code is not valid: it may be mistyped, expired or already used; ask for a new one';

export function agentAdminRoutes(options: AgentAdminOptions) {
  const { registry, log, now } = options;

  const actorOf = (ctx: ApiContext): string => ctx.state.principal?.subject ?? 'anonymous';

  /** Logs a change made by the caller and reports it as a security event: the same facts, never a code or secret. */
  const changed = (ctx: ApiContext, type: AgentSecurityEventType, agent: { id: string; gym: string }, message: string, codeExpiresAt?: number): void => {
    const actor = actorOf(ctx);
    const expiry = codeExpiresAt === undefined ? {} : { expiresAt: codeExpiresAt };
    log.info({ reqId: ctx.state.requestId, actor, agent: agent.id, gym: agent.gym, ...expiry }, message);
    report({ type, gym: agent.gym, actor, detail: { agent: agent.id, ...(codeExpiresAt === undefined ? {} : { codeExpiresAt }) } });
  };

  const report = (event: AgentSecurityEvent): void => {
    try {
      options.onSecurityEvent?.(event);
    } catch (error) {
      // The change is made and logged; a failing audit sink must not turn it into an error for the caller.
      log.error({ err: error, event: event.type }, 'security event sink failed');
    }
  };

  const issued = (id: string, gym: string, enrollment: EnrollmentCode): EnrollmentIssued => ({
    id,
    gym,
    code: enrollment.code,
    expiresAt: new Date(enrollment.expiresAt).toISOString(),
  });

  /** The agent the gate already found in a gym the caller may see; gone meanwhile is a plain 404. */
  const existing = async (id: string) => {
    const agent = await registry.get(id);
    if (!agent) throw new ApiError('not_found', `no agent with id ${id}`);
    return agent;
  };

  /**
   * After the registry refused the agent's credentials: the broker's own account follows (an external broker
   * kicks the agent when it is disabled or deleted there), then the transport closes what it holds.
   */
  const disconnect = async (ctx: ApiContext, id: string, account: 'disable' | 'remove'): Promise<void> => {
    try {
      await options.brokerAccounts?.[account](id);
    } catch (error) {
      log.error({ reqId: ctx.state.requestId, agent: id, err: error }, `could not ${account} the agent's broker account; it is revoked in the hub`);
    }
    try {
      await options.disconnectAgent(id);
    } catch (error) {
      // Its credentials are already refused, so it cannot come back; the open connection outlives this request.
      log.error({ reqId: ctx.state.requestId, agent: id, err: error }, 'could not disconnect the agent; its credentials are revoked');
    }
  };

  return {
    async createAgent(ctx: ApiContext, input: { body: CreateAgentBody }): Promise<void> {
      const { id, gym } = input.body;
      let created;
      try {
        created = await registry.createForEnrollment(id, gym);
      } catch (error) {
        if (error instanceof RegistryError && error.code === 'exists') throw new ApiError('conflict', `an agent with id ${id} already exists`, { param: 'id' });
        if (error instanceof RegistryError) throw invalidParameter(error.code === 'invalid_gym' ? 'gym' : 'id', error.message);
        throw error;
      }
      changed(ctx, 'agent.created', { id, gym }, 'agent created for enrollment', created.enrollment.expiresAt);
      ctx.status = 201;
      ctx.set('Location', `${ctx.path}/${encodeURIComponent(id)}`);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = issued(id, gym, created.enrollment);
    },

    async issueEnrollment(ctx: ApiContext, input: AgentInput): Promise<void> {
      const agent = await existing(input.params.id);
      const enrollment = await registry.issueEnrollment(agent.id);
      if (!enrollment) throw new ApiError('not_found', `no agent with id ${agent.id}`);
      changed(ctx, 'agent.enrollment_issued', agent, 'enrollment code issued', enrollment.expiresAt);
      ctx.body = issued(agent.id, agent.gym, enrollment);
    },

    async disableAgent(ctx: ApiContext, input: AgentInput): Promise<void> {
      const agent = await existing(input.params.id);
      if (!(await registry.disable(agent.id))) throw new ApiError('not_found', `no agent with id ${agent.id}`);
      await disconnect(ctx, agent.id, 'disable');
      changed(ctx, 'agent.disabled', agent, 'agent disabled and disconnected');
      const body: AgentAccessState = { id: agent.id, gym: agent.gym, disabled: true };
      ctx.body = body;
    },

    async enableAgent(ctx: ApiContext, input: AgentInput): Promise<void> {
      const agent = await existing(input.params.id);
      if (!(await registry.enable(agent.id))) throw new ApiError('not_found', `no agent with id ${agent.id}`);
      // Enabled in the hub either way; a broker that missed it refuses the agent until the next enable or enrollment.
      await options.brokerAccounts
        ?.enable(agent.id)
        .catch((error: unknown) => log.error({ reqId: ctx.state.requestId, agent: agent.id, err: error }, "could not enable the agent's broker account"));
      changed(ctx, 'agent.enabled', agent, 'agent enabled');
      const body: AgentAccessState = { id: agent.id, gym: agent.gym, disabled: false };
      ctx.body = body;
    },

    async rotateAgent(ctx: ApiContext, input: AgentInput): Promise<void> {
      const agent = await existing(input.params.id);
      const enrollment = await registry.issueEnrollment(agent.id, { revokeSecret: true });
      if (!enrollment) throw new ApiError('not_found', `no agent with id ${agent.id}`);
      await disconnect(ctx, agent.id, 'remove');
      changed(ctx, 'agent.rotated', agent, 'agent credentials revoked; disconnected until enrolled again', enrollment.expiresAt);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = issued(agent.id, agent.gym, enrollment);
    },

    async removeAgent(ctx: ApiContext, input: AgentInput): Promise<void> {
      const agent = await existing(input.params.id);
      if (!(await registry.remove(agent.id))) throw new ApiError('not_found', `no agent with id ${agent.id}`);
      await disconnect(ctx, agent.id, 'remove');
      changed(ctx, 'agent.removed', agent, 'agent removed and disconnected');
      const body: AgentRemoved = { id: agent.id, removed: true };
      ctx.body = body;
    },

    async enroll(ctx: ApiContext, input: { body: EnrollBody }): Promise<void> {
      // Credentials in the answer: no cache may keep it, whatever the route is.
      ctx.set('Cache-Control', 'no-store');
      if (!options.enrollmentInfo) throw new ApiError('unavailable', 'this hub does not enroll agents over the API');
      // Before the code is spent: a secret issued into a failing answer would be lost with the code.
      const { mqttUrl, topicRoot, caPem, caFingerprint } = options.enrollmentInfo();
      const redeemed = await registry.redeemEnrollment(input.body.code, now());
      if (!redeemed) {
        log.warn({ reqId: ctx.state.requestId, remote: ctx.ip }, 'enrollment refused: unknown, expired or used code');
        report({ type: 'agent.enrollment_failed', gym: undefined, actor: 'anonymous', detail: { remote: ctx.ip } });
        throw invalidParameter('code', REFUSED_CODE);
      }
      const { agent, secret } = redeemed;
      if (options.brokerAccounts) {
        try {
          await options.brokerAccounts.setSecret(agent.id, secret);
        } catch (error) {
          // The code is spent and the secret never leaves the hub: the agent needs a new code once the broker is back.
          log.error({ reqId: ctx.state.requestId, agent: agent.id, err: error }, 'enrollment failed: the broker did not take the new credentials');
          report({ type: 'agent.enrollment_failed', gym: agent.gym, actor: `agent:${agent.id}`, detail: { agent: agent.id, reason: 'broker' } });
          throw new ApiError('unavailable', 'the broker did not accept the new credentials; ask for a new enrollment code');
        }
      }
      log.info({ reqId: ctx.state.requestId, agent: agent.id, gym: agent.gym, remote: ctx.ip }, 'agent enrolled');
      report({ type: 'agent.enrolled', gym: agent.gym, actor: `agent:${agent.id}`, detail: { agent: agent.id, remote: ctx.ip } });
      const body: Enrolled = { agentId: agent.id, gym: agent.gym, mqttUrl, topicRoot, secret };
      if (caPem !== undefined) body.caPem = caPem;
      if (caFingerprint !== undefined) body.caFingerprint = caFingerprint;
      ctx.body = body;
    },
  };
}
