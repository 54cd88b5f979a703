/**
 * Throttles failed MQTT logins to the embedded broker, per client address and per agent id, so a client that
 * guesses secrets cannot spend the hub's CPU on scrypt (each check costs tens of milliseconds of a core).
 *
 * After `maxFailuresPerAddress` failures from one address, or `maxFailuresPerAgent` failures for one agent id,
 * within `windowMs`, further attempts from that address or for that id are refused for `blockMs` without
 * their secret being checked. Checks in flight count against the limits too, so a burst of parallel CONNECTs
 * gets no more scrypt runs than a sequence of them. A success clears its agent id's failures but not its
 * address's: one valid account must not let a neighbour keep guessing. The per-agent limit is the lower
 * one, so a single misconfigured box behind a gym's NAT blocks its own id long before it blocks the address
 * its neighbours share. Attempts refused by the throttle are not counted as failures.
 *
 * Memory is bounded: each map keeps at most `maxTrackedKeys` entries, dropping expired ones first, then the
 * least recently failed.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { LoginThrottleSection } from './config.ts';

export type ThrottledBy = 'address' | 'agent';

interface Entry {
  windowStart: number;
  failures: number;
  /** Checks started and not yet finished. */
  pending: number;
  blockedUntil: number;
}

/** One map of addresses or agent ids. */
class FailureTable {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxFailures: number,
    private readonly settings: LoginThrottleSection,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  refuses(key: string, now: number): boolean {
    const entry = this.current(key, now);
    return entry !== undefined && (entry.blockedUntil > now || entry.failures + entry.pending >= this.maxFailures);
  }

  begin(key: string, now: number): void {
    const entry = this.current(key, now) ?? this.add(key, now);
    entry.pending++;
  }

  /** Returns true when this failure starts a block. */
  failed(key: string, now: number): boolean {
    const entry = this.current(key, now) ?? this.add(key, now);
    entry.pending = Math.max(0, entry.pending - 1);
    entry.failures++;
    // Most recently failed last: the first to be dropped when the table is full is the oldest.
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (entry.failures < this.maxFailures) return false;
    entry.blockedUntil = now + this.settings.blockMs;
    entry.failures = 0;
    entry.windowStart = now;
    return true;
  }

  /** A check that was not a failure ended; `clearFailures` when it proved the secret. */
  ended(key: string, now: number, clearFailures: boolean): void {
    const entry = this.current(key, now);
    if (!entry) return;
    entry.pending = Math.max(0, entry.pending - 1);
    if (clearFailures) entry.failures = 0;
    if (this.idle(entry, now)) this.entries.delete(key);
  }

  /** The entry with an elapsed window reset; undefined when there is none. */
  private current(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now - entry.windowStart >= this.settings.windowMs) {
      entry.windowStart = now;
      entry.failures = 0;
    }
    return entry;
  }

  private idle(entry: Entry, now: number): boolean {
    return entry.pending === 0 && entry.failures === 0 && entry.blockedUntil <= now;
  }

  private add(key: string, now: number): Entry {
    if (this.entries.size >= this.settings.maxTrackedKeys) this.makeRoom(now);
    const entry: Entry = { windowStart: now, failures: 0, pending: 0, blockedUntil: 0 };
    this.entries.set(key, entry);
    return entry;
  }

  private makeRoom(now: number): void {
    const expired = (entry: Entry): boolean => entry.pending === 0 && entry.blockedUntil <= now && now - entry.windowStart >= this.settings.windowMs;
    for (const [key, entry] of this.entries) if (expired(entry)) this.entries.delete(key);
    const oldest = this.entries.keys().next();
    if (this.entries.size >= this.settings.maxTrackedKeys && !oldest.done) this.entries.delete(oldest.value);
  }
}

/**
 * The key an address is throttled by: an IPv4 address (IPv4-mapped IPv6 included) as is, an IPv6 address by
 * its /64, the block one subscriber usually gets whole.
 */
export function addressKey(remote: string | undefined): string {
  if (remote === undefined || remote === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  if (mapped) return mapped[1]!;
  if (isIPv4(remote) || !isIPv6(remote)) return remote;
  const [head = '', tail = ''] = remote.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = remote.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = remote.includes('::') ? [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

export interface LoginAttempt {
  address: string;
  agent: string;
}

export class LoginThrottle {
  private readonly byAddress: FailureTable;
  private readonly byAgent: FailureTable;
  private readonly enabled: boolean;

  constructor(
    settings: LoginThrottleSection,
    private readonly now: () => number = Date.now,
  ) {
    this.byAddress = new FailureTable(settings.maxFailuresPerAddress, settings);
    this.byAgent = new FailureTable(settings.maxFailuresPerAgent, settings);
    this.enabled = settings.blockMs > 0;
  }

  /** Entries held, for tests of the memory bound. */
  get tracked(): { addresses: number; agents: number } {
    return { addresses: this.byAddress.size, agents: this.byAgent.size };
  }

  /**
   * Why this attempt is refused without checking its secret, or undefined: then the check has begun, and
   * exactly one of failed(), succeeded() or abandoned() must follow.
   */
  admit(attempt: LoginAttempt): ThrottledBy | undefined {
    if (!this.enabled) return undefined;
    const now = this.now();
    if (this.byAddress.refuses(attempt.address, now)) return 'address';
    if (this.byAgent.refuses(attempt.agent, now)) return 'agent';
    this.byAddress.begin(attempt.address, now);
    this.byAgent.begin(attempt.agent, now);
    return undefined;
  }

  /** The secret was wrong; says which blocks this failure started. */
  failed(attempt: LoginAttempt): ThrottledBy[] {
    if (!this.enabled) return [];
    const now = this.now();
    const blocked: ThrottledBy[] = [];
    if (this.byAddress.failed(attempt.address, now)) blocked.push('address');
    if (this.byAgent.failed(attempt.agent, now)) blocked.push('agent');
    return blocked;
  }

  succeeded(attempt: LoginAttempt): void {
    this.finish(attempt, true);
  }

  /** The check could not be made (the registry failed): neither a failure nor a proof of the secret. */
  abandoned(attempt: LoginAttempt): void {
    this.finish(attempt, false);
  }

  private finish(attempt: LoginAttempt, secretRight: boolean): void {
    if (!this.enabled) return;
    const now = this.now();
    this.byAddress.ended(attempt.address, now, false);
    this.byAgent.ended(attempt.agent, now, secretRight);
  }
}
