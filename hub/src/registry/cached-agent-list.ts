/**
 * The agent list as the API reads it, through the cache port: the admin pages poll it, and on PostgreSQL each
 * read is every agent's row. Kept for `ttlMs`, so status, presence and last-seen may be that much behind (ingest
 * writes them through its own registry); every change made through this registry (create, enrollment,
 * disable, enable, rotation, removal) drops the cached list at once, on every replica when the cache is Redis.
 */
import type { StatusMessage, SensorInfo } from '@pulsebridge/protocol';
import { cached, type Cache } from '../cache/cache.ts';
import type { AgentRecord, AgentRegistry, EnrollmentCode, IssueEnrollmentOptions } from './agent-registry.ts';

export const AGENT_LIST_CACHE_KEY = 'agents:list';
export const AGENT_LIST_TTL_MS = 2_000;

export class CachedAgentList implements AgentRegistry {
  constructor(
    private readonly registry: AgentRegistry,
    private readonly cache: Cache,
    private readonly ttlMs = AGENT_LIST_TTL_MS,
  ) {}

  list(): Promise<AgentRecord[]> {
    return cached(this.cache, AGENT_LIST_CACHE_KEY, this.ttlMs, () => this.registry.list());
  }

  /** Runs a change, then drops the list whether or not it changed anything; a cache that fails only delays the list. */
  private async changing<T>(change: Promise<T>): Promise<T> {
    try {
      return await change;
    } finally {
      await this.cache.deletePrefix(AGENT_LIST_CACHE_KEY).catch(() => {});
    }
  }

  create(id: string, gym: string): Promise<{ agent: AgentRecord; secret: string }> {
    return this.changing(this.registry.create(id, gym));
  }
  createForEnrollment(id: string, gym: string, options?: { ttlMs?: number }): Promise<{ agent: AgentRecord; enrollment: EnrollmentCode }> {
    return this.changing(this.registry.createForEnrollment(id, gym, options));
  }
  issueEnrollment(id: string, options?: IssueEnrollmentOptions): Promise<EnrollmentCode | undefined> {
    return this.changing(this.registry.issueEnrollment(id, options));
  }
  redeemEnrollment(code: string, now: number): Promise<{ agent: AgentRecord; secret: string } | undefined> {
    return this.changing(this.registry.redeemEnrollment(code, now));
  }
  disable(id: string): Promise<boolean> {
    return this.changing(this.registry.disable(id));
  }
  enable(id: string): Promise<boolean> {
    return this.changing(this.registry.enable(id));
  }
  rotateSecret(id: string): Promise<string | undefined> {
    return this.changing(this.registry.rotateSecret(id));
  }
  remove(id: string): Promise<boolean> {
    return this.changing(this.registry.remove(id));
  }

  get(id: string): Promise<AgentRecord | undefined> {
    return this.registry.get(id);
  }
  authenticate(id: string, secret: string): Promise<AgentRecord | undefined> {
    return this.registry.authenticate(id, secret);
  }
  recordStatus(id: string, status: StatusMessage, at: number): Promise<void> {
    return this.registry.recordStatus(id, status, at);
  }
  recordInventory(id: string, sensors: SensorInfo[]): Promise<void> {
    return this.registry.recordInventory(id, sensors);
  }
  touch(id: string, at: number): void {
    this.registry.touch(id, at);
  }
  setOnline(id: string, online: boolean): void {
    this.registry.setOnline(id, online);
  }
}
