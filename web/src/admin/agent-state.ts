/**
 * What the agents page says about an agent: from the API's flags and its last-seen time. The hub's `online` flag
 * follows the MQTT session; an agent that is connected but has sent nothing for a long while is shown
 * as quiet, because a hung box keeps its TCP session for a while.
 */

export type AgentState = 'disabled' | 'awaiting_enrollment' | 'never_seen' | 'online' | 'quiet' | 'offline';

export interface AgentFacts {
  online: boolean;
  enrolled: boolean;
  disabled: boolean;
  /** ISO 8601, or null when never seen. */
  lastSeen: string | null;
}

/**
 * An agent with sensors sends readings every second; one with none sends only when its status changes, so the
 * threshold is long enough not to call an idle but healthy box quiet.
 */
export const QUIET_AFTER_MS = 5 * 60_000;

export function agentState(agent: AgentFacts, nowMs: number, quietAfterMs = QUIET_AFTER_MS): AgentState {
  if (agent.disabled) return 'disabled';
  if (!agent.enrolled) return 'awaiting_enrollment';
  const seen = agent.lastSeen === null ? NaN : Date.parse(agent.lastSeen);
  if (Number.isNaN(seen)) return agent.online ? 'online' : 'never_seen';
  if (!agent.online) return 'offline';
  return nowMs - seen > quietAfterMs ? 'quiet' : 'online';
}

export type AgoUnit = 'second' | 'minute' | 'hour' | 'day';

/** How long ago, in the largest unit that fits, for Intl.RelativeTimeFormat (a future time, from clock skew, is now). */
export function sinceInUnits(thenMs: number, nowMs: number): { value: number; unit: AgoUnit } {
  const seconds = Math.max(0, Math.floor((nowMs - thenMs) / 1000));
  if (seconds < 60) return { value: seconds, unit: 'second' };
  if (seconds < 3600) return { value: Math.floor(seconds / 60), unit: 'minute' };
  if (seconds < 86_400) return { value: Math.floor(seconds / 3600), unit: 'hour' };
  return { value: Math.floor(seconds / 86_400), unit: 'day' };
}
