/**
 * The identity port: people, their password credential, their memberships of gyms, the audit log of security
 * events, and the storage oidc-provider needs for its models (sessions, grants, codes, tokens...).
 *
 * Two adapters pass one contract suite (hub/test/identity/identity-contract.ts): SQLite, the embedded
 * default, and PostgreSQL for several hub replicas. Both run their versioned migrations in start().
 *
 * Times are milliseconds since the epoch, except inside oidc-provider payloads, which keep its own seconds.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';

export const ROLES = ['athlete', 'coach', 'gym_admin', 'platform_admin'] as const;
export type Role = (typeof ROLES)[number];
/** The gym of a platform_admin membership: every gym. Never a gym id (gym ids start with a letter or digit). */
export const ALL_GYMS = '*';

export interface User {
  /** A random UUID. */
  id: string;
  /** As given at creation (trimmed); unique without regard to case. */
  email: string;
  displayName: string;
  createdAt: number;
  disabled: boolean;
}

export interface NewUser {
  email: string;
  displayName: string;
}

/** The encoded password hash (e.g. a PHC string) and which parameter set made it, so an old one can be upgraded. */
export interface PasswordCredential {
  userId: string;
  hash: string;
  paramsVersion: number;
  updatedAt: number;
}

export interface Membership {
  userId: string;
  gym: string;
  role: Role;
  createdAt: number;
}

export interface NewAuditEvent {
  /** Defaults to the store's clock. */
  at?: number;
  /** What happened, e.g. `sign_in.failed`. */
  type: string;
  /** The user who acted, when known; kept as written even if the user goes away. */
  actorUserId?: string;
  gym?: string;
  detail?: Record<string, unknown>;
}

export interface AuditEvent {
  /** Increases with every append; the order of the log. */
  id: string;
  at: number;
  type: string;
  actorUserId: string | undefined;
  gym: string | undefined;
  detail: Record<string, unknown>;
}

export interface AuditQuery {
  gym?: string;
  /** Events whose actor is this user. */
  userId?: string;
  /** 1..MAX_AUDIT_PAGE. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface AuditPage {
  /** Newest first. */
  events: AuditEvent[];
  /** Set when older events may follow. */
  nextCursor: string | undefined;
}

export const MAX_AUDIT_PAGE = 1000;

/** What oidc-provider stores for a model instance: its own fields, some of which the adapter indexes. */
export type OidcPayload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  /** Seconds since the epoch, set by consume(). */
  consumed?: number;
};

/**
 * oidc-provider's adapter interface for one model name ("Session", "AccessToken", "Grant", ...). An instance
 * whose expiry has passed is not found, whether or not pruneExpiredOidc() has removed it yet.
 */
export interface OidcModelStore {
  /** Replaces the instance; expiresIn in seconds, none for one that does not expire. */
  upsert(id: string, payload: OidcPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<OidcPayload | undefined>;
  /** The DeviceCode with this user code. */
  findByUserCode(userCode: string): Promise<OidcPayload | undefined>;
  /** The Session with this uid. */
  findByUid(uid: string): Promise<OidcPayload | undefined>;
  /** Marks it consumed (`consumed` = now in seconds); it stays findable. */
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  /** Removes every instance of every model that belongs to the grant (codes, access and refresh tokens...). */
  revokeByGrantId(grantId: string): Promise<void>;
}

/** A TOTP second factor (RFC 6238). Unconfirmed until the user has typed one code from it. */
export interface TotpFactor {
  userId: string;
  /** The shared secret, base32. */
  secret: string;
  confirmed: boolean;
  createdAt: number;
  /** The highest time step a code was accepted for; a code of this step or an earlier one is a replay. */
  lastUsedStep: number | undefined;
}

export const ONE_TIME_TOKEN_KINDS = ['invite', 'password_reset', 'agent_enrollment'] as const;
export type OneTimeTokenKind = (typeof ONE_TIME_TOKEN_KINDS)[number];

/**
 * A short-lived, single-use secret: a sign-up invite, a password-reset link, an agent enrollment code. Only a
 * hash of the secret is stored (SHA-256, hex), so a copy of the database does not hold usable links or codes.
 */
export interface NewOneTimeToken {
  kind: OneTimeTokenKind;
  hash: string;
  expiresAt: number;
  userId?: string;
  gym?: string;
  /** Kind-specific fields (the invited email and role, the agent id...). */
  detail?: Record<string, unknown>;
}

export interface OneTimeToken {
  kind: OneTimeTokenKind;
  hash: string;
  createdAt: number;
  expiresAt: number;
  userId: string | undefined;
  gym: string | undefined;
  detail: Record<string, unknown>;
}

/** A key oidc-provider signs tokens with. The newest unretired key signs; retired ones stay published until their tokens expire. */
export interface SigningKey {
  kid: string;
  alg: string;
  /** The private key as a JWK (with its kid). */
  privateJwk: Record<string, unknown>;
  createdAt: number;
  /** When a newer key took over signing; undefined while it is the signing key. */
  retiredAt: number | undefined;
}

/** Who may see an athlete's results (sessions, records): themselves only, their friends, members of their gyms, anyone signed in. */
export const RESULTS_VISIBILITY = ['only_me', 'friends', 'gym', 'everyone'] as const;
export type ResultsVisibility = (typeof RESULTS_VISIBILITY)[number];
/** How an athlete shows on a class's live board: by name, by an alias, or not at all. */
export const BOARD_VISIBILITY = ['name', 'alias', 'hidden'] as const;
export type BoardVisibility = (typeof BOARD_VISIBILITY)[number];
export const SEXES = ['female', 'male', 'unspecified'] as const;
export type Sex = (typeof SEXES)[number];

/**
 * An athlete's personal data and privacy choices. Every field but the privacy choices may be unknown; formulas
 * that need one (max heart rate from age, calories from weight and sex) say so when it is missing.
 */
export interface AthleteProfileFields {
  /** YYYY-MM-DD. */
  birthDate?: string;
  sex?: Sex;
  weightKg?: number;
  heightCm?: number;
  /** Measured in a test (bpm): wins over any formula. */
  maxHeartRate?: number;
  restingHeartRate?: number;
  /** Functional threshold power, watts. */
  ftpWatts?: number;
  resultsVisibility: ResultsVisibility;
  boardVisibility: BoardVisibility;
  /** Shown on live boards instead of the name when boardVisibility is 'alias'. */
  boardAlias?: string;
  /** Listed on class and group leaderboards (opt-in: absent is false). */
  leaderboards?: boolean;
}

export interface AthleteProfile extends AthleteProfileFields {
  userId: string;
  leaderboards: boolean;
  updatedAt: number;
}

/** What a profile holds before its athlete changed anything. */
export const DEFAULT_PROFILE: AthleteProfileFields & { leaderboards: boolean } = { resultsVisibility: 'friends', boardVisibility: 'name', leaderboards: false };

export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: number;
}

export interface IdentityStore {
  /** Connects and applies the migrations this database lacks; safe to run by several replicas at once. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The migrations applied to this database, oldest first. */
  migrations(): Promise<AppliedMigration[]>;

  /** Refused with `conflict` when the email is taken in any case. */
  createUser(user: NewUser): Promise<User>;
  getUser(id: string): Promise<User | undefined>;
  findUserByEmail(email: string): Promise<User | undefined>;
  setUserDisabled(id: string, disabled: boolean): Promise<void>;
  /**
   * Erases the account: the user, password, second factor, recovery codes, profile, memberships, federated
   * links, oidc-provider instances of the account (sessions, grants, codes, tokens) and one-time tokens for
   * or to them. Audit entries stay (the gym's audit trail) with the person's id, email and name replaced by
   * DELETED_USER (erasure.ts). False when there was no such user.
   */
  deleteUser(id: string): Promise<boolean>;
  /** Changes the name people see; 'not_found' for an unknown user. */
  setDisplayName(id: string, displayName: string): Promise<void>;

  /** The athlete's profile; undefined until first saved (DEFAULT_PROFILE applies). */
  getProfile(userId: string): Promise<AthleteProfile | undefined>;
  /** Replaces the whole profile; 'not_found' for an unknown user, 'invalid_input' naming a bad field. */
  saveProfile(userId: string, fields: AthleteProfileFields): Promise<AthleteProfile>;

  setPassword(userId: string, credential: { hash: string; paramsVersion: number }): Promise<void>;
  getPassword(userId: string): Promise<PasswordCredential | undefined>;

  /** Refused with `conflict` when the user already has that role in that gym. */
  addMembership(membership: { userId: string; gym: string; role: Role }): Promise<Membership>;
  /** False when there was no such membership. */
  removeMembership(membership: { userId: string; gym: string; role: Role }): Promise<boolean>;
  /** Ordered by gym, then role. */
  listMembershipsOfUser(userId: string): Promise<Membership[]>;
  /** Ordered by user id, then role. */
  listMembershipsOfGym(gym: string): Promise<Membership[]>;

  /** Stores a new, unconfirmed TOTP factor, replacing any the user had (confirmed or not). */
  setTotp(userId: string, secret: string): Promise<void>;
  getTotp(userId: string): Promise<TotpFactor | undefined>;
  /** False when the user has no TOTP factor. */
  confirmTotp(userId: string): Promise<boolean>;
  /** Removes the factor and every recovery code; false when there was no factor. */
  removeTotp(userId: string): Promise<boolean>;
  /**
   * Records atomically that a code of `step` was accepted: false, and nothing changes, when that step or a
   * later one was already used (the replay rule), or when the user has no factor. Safe across replicas.
   */
  useTotpStep(userId: string, step: number): Promise<boolean>;
  /** Replaces the user's recovery codes by these hashes (SHA-256, hex). */
  replaceRecoveryCodes(userId: string, hashes: readonly string[]): Promise<void>;
  /** Consumes the unused code with this hash atomically; false when there is none (wrong or already used). */
  useRecoveryCode(userId: string, hash: string): Promise<boolean>;
  /** How many unused recovery codes the user has left. */
  countRecoveryCodes(userId: string): Promise<number>;

  /** Refused with `conflict` when a token of that kind has that hash already. */
  createOneTimeToken(token: NewOneTimeToken): Promise<OneTimeToken>;
  /**
   * Consumes the token of this kind and hash atomically and returns it; undefined when there is none, it was
   * used, or it expired (expiresAt <= now). Of two concurrent calls, at most one gets it.
   */
  consumeOneTimeToken(kind: OneTimeTokenKind, hash: string, now: number): Promise<OneTimeToken | undefined>;
  /** Deletes the unused tokens of this kind whose detail field `field` equals `value` (an agent's old codes); returns how many. */
  revokeOneTimeTokens(kind: OneTimeTokenKind, field: string, value: string): Promise<number>;

  /** Links an account at an external issuer to a user; `conflict` when that issuer's subject is linked already. */
  linkFederatedIdentity(link: { issuer: string; subject: string; userId: string }): Promise<void>;
  /** The user linked to that issuer's subject. */
  findFederatedUser(issuer: string, subject: string): Promise<string | undefined>;

  /** `conflict` when the kid exists. */
  addSigningKey(key: { kid: string; alg: string; privateJwk: Record<string, unknown> }): Promise<SigningKey>;
  /** Newest first. */
  listSigningKeys(): Promise<SigningKey[]>;
  /** Marks every unretired key other than `kid` retired at `at` (when `kid` takes over signing). */
  retireSigningKeysExcept(kid: string, at: number): Promise<void>;
  /** Deletes keys retired before `before`; returns how many. */
  deleteSigningKeysRetiredBefore(before: number): Promise<number>;
  /**
   * The named secret (e.g. oidc-provider's cookie keys), created from `create()` if absent. Replicas racing
   * to create it all get the one that won.
   */
  getOrCreateSecret(name: string, create: () => string): Promise<string>;

  appendAudit(event: NewAuditEvent): Promise<AuditEvent>;
  listAudit(query: AuditQuery): Promise<AuditPage>;

  /** The oidc-provider adapter for one model name: `adapter: (name) => store.oidc(name)`. */
  oidc(model: string): OidcModelStore;
  /** Removes every expired oidc-provider instance; returns how many. */
  pruneExpiredOidc(): Promise<number>;
}

export type IdentityStoreErrorCode =
  /** An argument no store accepts (empty email, unknown role, bad cursor...); `param` names it. */
  | 'invalid_input'
  /** A unique rule refused it (email taken, membership already there). */
  | 'conflict'
  /** A user it refers to does not exist. */
  | 'not_found'
  /** Called before start() or after stop(). */
  | 'not_started'
  /** The database could not be opened, migrated or answered with an error. */
  | 'unavailable';

export class IdentityStoreError extends PulsebridgeError<IdentityStoreErrorCode> {
  /** For invalid_input, conflict and not_found: the argument at fault. */
  readonly param: string | undefined;

  constructor(code: IdentityStoreErrorCode, message: string, options: { param?: string; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.param = options.param;
  }
}
