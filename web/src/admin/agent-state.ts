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

/** A sensor's signal in words for people who do not read dBm. */
export type SignalQuality = 'strong' | 'fair' | 'weak';

/**
 * At -67 dBm and above a BLE or ANT+ link holds without drops; below -80 dBm packets go missing and a sensor
 * across the room or behind a body drops out: the usual thresholds for 2.4 GHz radios.
 */
export const STRONG_SIGNAL_DBM = -67;
export const FAIR_SIGNAL_DBM = -80;
/** The agent refreshes its status every few seconds; a signal older than this was measured when the sensor was last heard. */
export const SIGNAL_STALE_AFTER_MS = 60_000;

export interface SensorSignalFacts {
  /** dBm, as the agents API reports it; absent where the radio reports none. */
  signalDbm?: number;
  /** ISO 8601: when the agent last heard the sensor at that signal. */
  signalAt?: string;
}

export interface SignalShown {
  dBm: number;
  quality: SignalQuality;
  /** UTC ms of the measurement when it is older than SIGNAL_STALE_AFTER_MS, to say how old; else undefined. */
  staleSince: number | undefined;
}

export function signalQuality(dBm: number): SignalQuality {
  if (dBm >= STRONG_SIGNAL_DBM) return 'strong';
  return dBm >= FAIR_SIGNAL_DBM ? 'fair' : 'weak';
}

/** What the sensors table shows in the signal column; undefined (a dash) when the sensor has no signal to show. */
export function signalShown(sensor: SensorSignalFacts, nowMs: number, staleAfterMs = SIGNAL_STALE_AFTER_MS): SignalShown | undefined {
  const dBm = sensor.signalDbm;
  if (typeof dBm !== 'number' || !Number.isFinite(dBm)) return undefined;
  const at = sensor.signalAt === undefined ? NaN : Date.parse(sensor.signalAt);
  const staleSince = !Number.isNaN(at) && nowMs - at > staleAfterMs ? at : undefined;
  return { dBm: Math.round(dBm), quality: signalQuality(dBm), staleSince };
}
