/**
 * The pairing channel over MQTT: publishes each gym's allowlist to every agent of the gym as a retained
 * `pairing` message, opens permit-join and discovery windows with a `window` command, and keeps what agents
 * report hearing nearby (the `nearby` kind, ingest/handlers/nearby.ts) for tap-to-pair.
 *
 * Versions are hub time (ms), made to increase per gym, so an agent ignores a list overtaken by a later one.
 * The embedded broker keeps retained messages in memory only: `publishAll()` at hub start publishes every
 * gym's list again, and an agent the hub has not sent a list to in this run (a new or newly enrolled one)
 * gets its gym's list when it comes online (`agentOnline`).
 */
import {
  MAX_ALLOWLIST_SENSORS,
  MESSAGE_KINDS,
  canonicalSensorId,
  encodeJsonMessage,
  type CommandMessage,
  type NearbySensorReport,
  type PairingMessage,
} from '@pulsebridge/protocol';
import { errorMessage, registerScraped } from '@pulsebridge/runtime';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { HubTransport } from '../broker/transport.ts';
import type { AgentRegistry } from '../registry/agent-registry.ts';
import type { NearbySensor, PairingChannel } from './pairing-channel.ts';

/** Reports kept per agent (each replaces the agent's previous one) and sensors kept in total. */
export const MAX_NEARBY_PER_AGENT = MESSAGE_KINDS.nearby.schema.properties.sensors.maxItems ?? 64;
export const MAX_NEARBY_TOTAL = 4_096;

export interface AllowlistPublisherOptions {
  transport: Pick<HubTransport, 'publish'>;
  agents: Pick<AgentRegistry, 'list' | 'get'>;
  /** The gym's allowlist: domain/pairing/allowlist.ts over the hub's documents. */
  allowlistOf: (gym: string) => Promise<string[]>;
  now: () => number;
  log: Logger;
}

interface GymQueue {
  /** Settles after the last publish started for the gym. */
  tail: Promise<void>;
  /** A publish queued and not started yet: every change asked meanwhile is in it. */
  next: Promise<void> | undefined;
  version: number;
}

interface NearbyReport {
  gym: string;
  at: number;
  sensors: NearbySensorReport[];
}

export class AllowlistPublisher implements PairingChannel {
  private readonly options: AllowlistPublisherOptions;
  private readonly log: Logger;
  private readonly gyms = new Map<string, GymQueue>();
  /** Agents this run of the hub has published a list to. */
  private readonly served = new Set<string>();
  /** The latest report of each agent, in arrival order (oldest first) for the total bound. */
  private readonly reports = new Map<string, NearbyReport>();
  private nearbyTotal = 0;
  readonly counts = { published: 0, publishFailures: 0, windows: 0, nearbyReports: 0 };

  constructor(options: AllowlistPublisherOptions) {
    this.options = options;
    this.log = options.log.child({ ns: 'pairing' });
  }

  /** Exposes the counts, read at scrape time. */
  register(registry: Registry): void {
    registerScraped(registry, [
      {
        name: 'pb_hub_pairing_lists_published_total',
        help: "Allowlists published to agents (one per agent and change of its gym's pairings)",
        kind: 'counter',
        read: () => this.counts.published,
      },
      { name: 'pb_hub_pairing_publish_failures_total', help: 'Allowlists that could not be published to an agent', kind: 'counter', read: () => this.counts.publishFailures },
      { name: 'pb_hub_pairing_windows_total', help: 'Permit-join and discovery windows opened on agents', kind: 'counter', read: () => this.counts.windows },
      { name: 'pb_hub_pairing_nearby_reports_total', help: 'Reports of unpaired sensors heard near an agent', kind: 'counter', read: () => this.counts.nearbyReports },
      { name: 'pb_hub_pairing_nearby_sensors', help: 'Unpaired sensors heard nearby that the hub keeps for tap-to-pair', kind: 'gauge', read: () => this.nearbyTotal },
    ]);
  }

  /**
   * Publishes the gym's list to its agents. Calls made while a publish is queued share it; a call made while
   * one is running queues one more, which reads the documents after the change: bursts cost two publishes.
   */
  gymChanged(gym: string): Promise<void> {
    let queue = this.gyms.get(gym);
    if (!queue) {
      queue = { tail: Promise.resolve(), next: undefined, version: 0 };
      this.gyms.set(gym, queue);
    }
    if (queue.next) return queue.next;
    const own = queue;
    const next = own.tail.then(() => {
      own.next = undefined;
      return this.publishGym(gym, own);
    });
    own.next = next;
    own.tail = next.catch(() => undefined);
    return next;
  }

  /** Every gym's list, to every agent: at hub start, when the broker holds no retained list. */
  async publishAll(): Promise<void> {
    const gyms = new Set((await this.options.agents.list()).map((agent) => agent.gym));
    await Promise.all([...gyms].map((gym) => this.gymChanged(gym)));
  }

  /** An agent came online: one this run has not served gets its gym's list (its first connection, or after enrollment). */
  async agentOnline(agent: string): Promise<void> {
    if (this.served.has(agent)) return;
    const record = await this.options.agents.get(agent);
    if (!record || this.served.has(agent)) return;
    await this.gymChanged(record.gym);
  }

  async openWindow(gym: string, options: { seconds: number; permitJoin: boolean }): Promise<void> {
    const command: CommandMessage = { type: 'window', until: Math.floor(this.options.now() + options.seconds * 1000), permitJoin: options.permitJoin, discover: true };
    const payload = encodeJsonMessage('cmd', command);
    const agents = await this.agentsOf(gym);
    this.counts.windows++;
    await Promise.all(agents.map((agent) => this.send(agent, 'cmd', payload)));
    this.log.info({ gym, agents: agents.length, ...options }, 'pairing window opened');
  }

  /** Keeps an agent's report (replacing its previous one), bounded per agent and in total. */
  async recordNearby(agent: string, sensors: readonly NearbySensorReport[]): Promise<void> {
    const record = await this.options.agents.get(agent);
    if (!record) return;
    this.counts.nearbyReports++;
    this.dropReport(agent);
    const kept = sensors.slice(0, MAX_NEARBY_PER_AGENT);
    this.reports.set(agent, { gym: record.gym, at: this.options.now(), sensors: kept });
    this.nearbyTotal += kept.length;
    for (const [oldest] of this.reports) {
      if (this.nearbyTotal <= MAX_NEARBY_TOTAL) break;
      this.dropReport(oldest);
    }
  }

  nearby(gym: string, since: number): NearbySensor[] {
    const best = new Map<string, NearbySensor>();
    for (const [agent, report] of this.reports) {
      if (report.gym !== gym || report.at < since) continue;
      for (const sensor of report.sensors) {
        const known = best.get(sensor.id);
        if (known && (known.rssi ?? -Infinity) >= (sensor.rssi ?? -Infinity)) continue;
        best.set(sensor.id, { sensor: sensor.id, kind: sensor.kind, rssi: sensor.rssi, agent, seenAt: report.at });
      }
    }
    return [...best.values()].sort((a, b) => (b.rssi ?? -Infinity) - (a.rssi ?? -Infinity) || b.seenAt - a.seenAt);
  }

  private dropReport(agent: string): void {
    const report = this.reports.get(agent);
    if (!report) return;
    this.nearbyTotal -= report.sensors.length;
    this.reports.delete(agent);
  }

  private async publishGym(gym: string, queue: GymQueue): Promise<void> {
    const allow = this.wireList(gym, await this.options.allowlistOf(gym));
    const now = Math.floor(this.options.now());
    queue.version = Math.max(now, queue.version + 1);
    const message: PairingMessage = { version: queue.version, allow, updatedAt: now };
    const payload = encodeJsonMessage('pairing', message);
    const agents = await this.agentsOf(gym);
    await Promise.all(
      agents.map(async (agent) => {
        if (await this.send(agent, 'pairing', payload)) this.served.add(agent);
      }),
    );
    this.counts.published++;
    this.log.info({ gym, version: message.version, sensors: allow.length, agents: agents.length }, 'pairing list published');
  }

  /**
   * The list as agents accept it: canonical ids, each once, at most MAX_ALLOWLIST_SENSORS. One id that is not
   * a sensor id (or one too many) would make agents refuse the whole list, so it is left out and logged.
   */
  private wireList(gym: string, sensors: readonly string[]): string[] {
    const ids = new Set<string>();
    const refused: string[] = [];
    for (const sensor of sensors) {
      const id = canonicalSensorId(sensor);
      if (id === undefined) refused.push(sensor);
      else ids.add(id);
    }
    if (refused.length > 0) this.log.warn({ gym, refused: refused.slice(0, 10), count: refused.length }, 'paired sensors with ids that are not sensor ids left out of the list');
    const allow = [...ids].sort();
    if (allow.length > MAX_ALLOWLIST_SENSORS) this.log.warn({ gym, sensors: allow.length, max: MAX_ALLOWLIST_SENSORS }, 'allowlist too long for agents; the rest is left out');
    return allow.slice(0, MAX_ALLOWLIST_SENSORS);
  }

  private async agentsOf(gym: string): Promise<string[]> {
    return (await this.options.agents.list()).filter((agent) => agent.gym === gym).map((agent) => agent.id);
  }

  /** One agent's failure (the broker is going down) is logged; the others still get theirs. */
  private async send(agent: string, kind: 'cmd' | 'pairing', payload: Buffer): Promise<boolean> {
    try {
      await this.options.transport.publish(agent, kind, payload);
      return true;
    } catch (err) {
      this.counts.publishFailures++;
      this.log.warn({ agent, kind, err: errorMessage(err) }, 'could not publish pairing to the agent');
      return false;
    }
  }
}
