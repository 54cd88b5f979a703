/**
 * The agents the hub knows: which gym each belongs to, its MQTT credentials and what it last reported.
 * Embedded default is SQLite (hub/src/registry/sqlite-agent-registry.ts).
 */
import type { SensorInfo, StatusMessage } from '@pulsebridge/protocol';

export interface AgentRecord {
  id: string;
  gym: string;
  createdAt: number;
  /** Last time the hub heard anything from the agent, UTC ms; undefined if never. */
  lastSeen?: number;
  /** Connected to this run of the hub now (or, with an external broker, its status says so); never persisted. */
  online: boolean;
  /** The last status the agent published. */
  status?: StatusMessage;
  /** The sensors the agent last reported. */
  inventory?: SensorInfo[];
}

export interface AgentRegistry {
  /** Creates an agent and returns its secret; the secret is stored only as a hash. */
  create(id: string, gym: string): Promise<{ agent: AgentRecord; secret: string }>;
  remove(id: string): Promise<boolean>;
  get(id: string): Promise<AgentRecord | undefined>;
  list(): Promise<AgentRecord[]>;
  /** The agent if the secret is right, else undefined. */
  authenticate(id: string, secret: string): Promise<AgentRecord | undefined>;
  recordStatus(id: string, status: StatusMessage, at: number): Promise<void>;
  recordInventory(id: string, sensors: SensorInfo[]): Promise<void>;
  /** Cheap, in memory; persisted within a few seconds, so a crash loses little. */
  touch(id: string, at: number): void;
  /**
   * Whether the agent is online now, as the hub's presence tracking decides (ingest/agent-presence.ts). Kept in
   * memory only: a restarted hub shows every agent offline until it connects again.
   */
  setOnline(id: string, online: boolean): void;
}
