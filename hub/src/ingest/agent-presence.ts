/**
 * The one place that records agent presence, with the hub's injected clock: when an agent was last seen (every
 * message it sends, and its connection opening or closing) and whether it is online now. Online follows the
 * transport's presence source: the agent's connection when the transport holds it (embedded broker), else its
 * retained status and last will (external broker). Nothing of it is persisted, so a restarted hub shows an
 * agent online only once it connects again.
 *
 * An agent that goes offline and stays away longer than a grace period is reported once (`onOffline`: the
 * gym's agent.offline webhook). A reconnect within the grace cancels the report; once reported, the agent is
 * reported again only after it was back online for a whole grace period, so one that flaps (back for seconds,
 * gone for minutes, again and again) is reported once, not at every drop.
 */
import type { Logger } from 'pino';
import type { StatusMessage } from '@pulsebridge/protocol';
import type { PresenceSource } from '../broker/transport.ts';
import type { AgentRegistry } from '../registry/agent-registry.ts';

/** An agent gone for longer than the grace period; times are hub UTC ms. */
export interface AgentOffline {
  agent: string;
  /** The last time the hub heard anything from it (its connection closing counts). */
  lastSeenAt: number;
  /** When it went offline: its connection closed, or its last will arrived. */
  offlineSince: number;
}

export interface OfflineReports {
  graceMs: number;
  onOffline: (offline: AgentOffline) => void;
}

export class AgentPresence {
  /** Agents this hub saw come online and not go offline since. */
  private readonly online = new Set<string>();
  private readonly lastSeen = new Map<string, number>();
  /** Agents offline, not yet reported: the report fires unless they come back first. */
  private readonly pendingReports = new Map<string, NodeJS.Timeout>();
  /** Agents reported offline; a timer runs while they are back, clearing the report after a whole grace period. */
  private readonly reported = new Map<string, NodeJS.Timeout | undefined>();
  private stopped = false;

  constructor(
    private readonly registry: AgentRegistry,
    private readonly now: () => number,
    private readonly log: Logger,
    private readonly source: PresenceSource,
    private readonly reports?: OfflineReports,
  ) {}

  seen(agent: string): void {
    const at = this.now();
    if (this.reports) this.lastSeen.set(agent, at);
    try {
      this.registry.touch(agent, at);
    } catch (err) {
      this.log.warn({ err, agent }, 'registry could not record that the agent was seen');
    }
  }

  /** The transport opened or closed a connection of the agent; `connected` while any is still open. */
  connection(agent: string, connected: boolean): void {
    this.seen(agent);
    if (this.source === 'connections') this.setOnline(agent, connected);
  }

  /**
   * The agent's status, or its last will. With the connection as the source it changes nothing: an agent saying
   * goodbye is online until its connection closes, and a will cannot make a disconnected agent look online.
   */
  status(agent: string, state: StatusMessage['state']): void {
    if (this.source === 'status') this.setOnline(agent, state === 'online');
  }

  /** Takes presence changes (again) after stop(). */
  start(): void {
    this.stopped = false;
  }

  /** Cancels every pending report: agents dropped by the hub's own stop are not offline. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.pendingReports.values()) clearTimeout(timer);
    for (const timer of this.reported.values()) clearTimeout(timer);
    this.pendingReports.clear();
    this.reported.clear();
    this.online.clear();
  }

  private setOnline(agent: string, online: boolean): void {
    try {
      this.registry.setOnline(agent, online);
    } catch (err) {
      this.log.warn({ err, agent }, 'registry could not record whether the agent is online');
    }
    if (this.reports && !this.stopped) this.followPresence(agent, online, this.reports);
  }

  private followPresence(agent: string, online: boolean, reports: OfflineReports): void {
    if (online) {
      if (this.online.has(agent)) return;
      this.online.add(agent);
      clearTimeout(this.pendingReports.get(agent));
      this.pendingReports.delete(agent);
      if (this.reported.has(agent)) {
        const recovered = setTimeout(() => this.reported.delete(agent), reports.graceMs);
        recovered.unref();
        this.reported.set(agent, recovered);
      }
      return;
    }
    // Offline twice in a row (a will after the connection closed, a second connection closing) is one outage.
    if (!this.online.delete(agent)) return;
    if (this.reported.has(agent)) {
      // Back too briefly since its report: the subscribers still know it as offline.
      clearTimeout(this.reported.get(agent));
      this.reported.set(agent, undefined);
      return;
    }
    const offlineSince = this.now();
    const timer = setTimeout(() => {
      this.pendingReports.delete(agent);
      this.reported.set(agent, undefined);
      try {
        reports.onOffline({ agent, lastSeenAt: this.lastSeen.get(agent) ?? offlineSince, offlineSince });
      } catch (err) {
        this.log.warn({ err, agent }, 'reporting that the agent is offline failed');
      }
    }, reports.graceMs);
    timer.unref();
    this.pendingReports.set(agent, timer);
  }
}
