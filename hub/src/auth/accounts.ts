/**
 * From a verified token's subject to the account behind it: the user and their gym roles (cached briefly, so
 * a verification costs no store query in the steady state), and for a federated issuer the linked account,
 * made just in time from the token's claims the first time its subject is seen.
 */
import { LRUCache } from 'lru-cache';
import { ALL_GYMS, IdentityStoreError, ROLES, type IdentityStore, type Role, type User } from '../identity/identity-store.ts';
import type { TrustedIssuer } from './config.ts';
import type { GymRole } from './principal.ts';
import { TokenRefused, quoted } from './refusal.ts';

/** What token verification needs of the identity store. */
export type AccountStore = Pick<
  IdentityStore,
  'getUser' | 'listMembershipsOfUser' | 'createUser' | 'addMembership' | 'appendAudit' | 'findFederatedUser' | 'linkFederatedIdentity'
>;

export interface AccountsOptions {
  store: AccountStore;
  /** How long a user's disabled flag and memberships are reused without asking the store. */
  ttlMs: number;
  /** Users (and federated links) remembered at most. */
  maxEntries: number;
  /** Milliseconds; drives the cache's TTL, so tests can move it. */
  now: () => number;
}

/** A user as a token sees it: undefined when there is no such user. */
export interface Account {
  user: User | undefined;
  roles: readonly GymRole[];
}

const GYM_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

/**
 * The gym roles a federated token's role claim grants: values "<gym><separator><role>", as a list or one
 * space-separated string. Values that name no role or no gym are ignored, and so is "*:platform_admin" unless
 * the issuer is allowed to grant it; ALL_GYMS goes only with platform_admin.
 */
export function rolesFromClaim(issuer: TrustedIssuer, claims: Record<string, unknown>): GymRole[] {
  const mapping = issuer.claims.roles;
  if (mapping.claim === undefined) return [];
  const raw = claims[mapping.claim];
  const values = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : [];
  const roles: GymRole[] = [];
  for (const value of values) {
    if (typeof value !== 'string') continue;
    const at = value.lastIndexOf(mapping.separator);
    if (at <= 0) continue;
    const gym = value.slice(0, at);
    const role = value.slice(at + 1);
    if (!isRole(role)) continue;
    if (role === 'platform_admin' ? gym !== ALL_GYMS || !mapping.allowPlatformAdmin : !GYM_ID.test(gym)) continue;
    roles.push({ gym, role });
  }
  return roles;
}

/** Store memberships first, then claim roles they do not already hold. */
export function mergeRoles(held: readonly GymRole[], extra: readonly GymRole[]): readonly GymRole[] {
  if (extra.length === 0) return held;
  const merged = [...held];
  for (const role of extra) if (!merged.some((r) => r.gym === role.gym && r.role === role.role)) merged.push(role);
  return merged;
}

export class Accounts {
  private readonly users: LRUCache<string, Account>;
  private readonly links: LRUCache<string, string>;
  /** Just-in-time creations under way, so concurrent first tokens of one subject make one account. */
  private readonly creating = new Map<string, Promise<string>>();

  constructor(private readonly options: AccountsOptions) {
    // ttlResolution 0: read the clock on every check rather than once per millisecond timer, so a clock moved
    // by a test (or a jump) is seen at once; Date.now() costs nothing next to a signature check.
    const perf = { now: options.now };
    this.users = new LRUCache<string, Account>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      ttlResolution: 0,
      perf,
      fetchMethod: async (userId) => {
        const user = await options.store.getUser(userId);
        if (user === undefined) return { user, roles: [] };
        const memberships = await options.store.listMembershipsOfUser(userId);
        return { user, roles: memberships.map(({ gym, role }) => ({ gym, role })) };
      },
    });
    // Links do not change once made; the TTL only bounds how long a cached one outlives its account.
    this.links = new LRUCache<string, string>({ max: options.maxEntries, ttl: options.ttlMs, ttlResolution: 0, perf });
  }

  /** The user with this id and their roles, at most ttlMs old. */
  async account(userId: string): Promise<Account> {
    const cached = this.users.get(userId);
    if (cached !== undefined) return cached;
    const fetched = await this.users.fetch(userId);
    if (fetched === undefined) throw new Error(`the account of ${userId} could not be loaded`);
    return fetched;
  }

  /** Drops what is remembered of the user (an erased account): the next token of theirs asks the store. */
  forget(userId: string): void {
    this.users.delete(userId);
    for (const [key, linked] of this.links.entries()) if (linked === userId) this.links.delete(key);
  }

  /** The id of the user linked to this federated subject, creating and linking one from the claims if none is. */
  async federatedUserId(issuer: TrustedIssuer, subject: string, claims: Record<string, unknown>): Promise<string> {
    const key = `${issuer.issuer}\n${subject}`;
    const cached = this.links.get(key);
    if (cached !== undefined) return cached;
    const linked = await this.options.store.findFederatedUser(issuer.issuer, subject);
    if (linked !== undefined) {
      this.links.set(key, linked);
      return linked;
    }
    let creation = this.creating.get(key);
    if (creation === undefined) {
      creation = this.createFederatedUser(issuer, subject, claims).finally(() => this.creating.delete(key));
      this.creating.set(key, creation);
    }
    const userId = await creation;
    this.links.set(key, userId);
    return userId;
  }

  private async createFederatedUser(issuer: TrustedIssuer, subject: string, claims: Record<string, unknown>): Promise<string> {
    const { store } = this.options;
    const email = claims[issuer.claims.email];
    if (typeof email !== 'string' || !email.includes('@')) {
      throw new TokenRefused('unknown_subject', `issuer ${issuer.name}: subject ${quoted(subject)} has no account and no "${issuer.claims.email}" claim to make one from`);
    }
    const name = claims[issuer.claims.name];
    let user: User;
    try {
      user = await store.createUser({ email, displayName: typeof name === 'string' && name.trim() !== '' ? name : email });
    } catch (err) {
      if (!(err instanceof IdentityStoreError) || err.code !== 'conflict') throw err;
      // Another replica may have made and linked it a moment ago; otherwise the email is a local account's,
      // which a token from another issuer must not take over.
      const linkedMeanwhile = await store.findFederatedUser(issuer.issuer, subject);
      if (linkedMeanwhile !== undefined) return linkedMeanwhile;
      throw new TokenRefused('unknown_subject', `issuer ${issuer.name}: subject ${quoted(subject)} has no account, and its email belongs to an account not linked to it`, {
        cause: err,
      });
    }
    try {
      await store.linkFederatedIdentity({ issuer: issuer.issuer, subject, userId: user.id });
    } catch (err) {
      const linkedMeanwhile = err instanceof IdentityStoreError && err.code === 'conflict' ? await store.findFederatedUser(issuer.issuer, subject) : undefined;
      if (linkedMeanwhile === undefined) throw err;
      return linkedMeanwhile;
    }
    const initial = issuer.claims.roles.default;
    if (initial !== undefined) await store.addMembership({ userId: user.id, gym: initial.gym, role: initial.role });
    await store.appendAudit({
      type: 'federated.user_created',
      actorUserId: user.id,
      ...(initial === undefined ? {} : { gym: initial.gym }),
      detail: { issuer: issuer.issuer, issuerName: issuer.name, subject, email, ...(initial === undefined ? {} : { role: initial.role }) },
    });
    return user.id;
  }
}
