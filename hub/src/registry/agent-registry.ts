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
  /** Disabled by an admin: its credentials are refused until enabled again. Absent means enabled. */
  disabled?: boolean;
  /** Whether it holds credentials: false until its enrollment code is redeemed (or after a rotation). */
  enrolled?: boolean;
}

/** A one-time enrollment code, shown once; the registry keeps only its hash. */
export interface EnrollmentCode {
  /** Grouped for reading aloud, like `ABCDE-FGHJK`; case, spaces and dashes do not matter when redeemed. */
  code: string;
  /** UTC ms after which the code is refused. */
  expiresAt: number;
}

export interface IssueEnrollmentOptions {
  /** How long the code stays valid; the registry's default when left out. */
  ttlMs?: number;
  /** Also drop the agent's current secret, so that only the new code gives it credentials again. */
  revokeSecret?: boolean;
}

export interface AgentRegistry {
  /** Creates an agent and returns its secret; the secret is stored only as a hash. */
  create(id: string, gym: string): Promise<{ agent: AgentRecord; secret: string }>;
  /**
   * Creates an agent without credentials and returns a one-time code that gets them (redeemEnrollment).
   * Refuses an existing id like create().
   */
  createForEnrollment(id: string, gym: string, options?: { ttlMs?: number }): Promise<{ agent: AgentRecord; enrollment: EnrollmentCode }>;
  /** A new code for an existing agent (undefined when unknown); its earlier unused codes stop working. */
  issueEnrollment(id: string, options?: IssueEnrollmentOptions): Promise<EnrollmentCode | undefined>;
  /**
   * Consumes the code, at most once even when redeemed concurrently, and issues the agent a new secret. Undefined
   * when the code is unknown, expired, used, or its agent is disabled: callers cannot tell which.
   */
  redeemEnrollment(code: string, now: number): Promise<{ agent: AgentRecord; secret: string } | undefined>;
  /** Refuses the agent's credentials until enable(); false when the agent is unknown. */
  disable(id: string): Promise<boolean>;
  enable(id: string): Promise<boolean>;
  /** Issues a new secret and invalidates the old one at once; undefined when the agent is unknown. */
  rotateSecret(id: string): Promise<string | undefined>;
  remove(id: string): Promise<boolean>;
  get(id: string): Promise<AgentRecord | undefined>;
  list(): Promise<AgentRecord[]>;
  /** The agent if the secret is right and the agent is enabled, else undefined. */
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
