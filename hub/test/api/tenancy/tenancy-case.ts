/**
 * What each feature gives the tenancy test (tenancy.test.ts): a case per operation of its table, the data of
 * two gyms it seeds, and what of gym A's data must never show in an answer to gym B or change through one.
 */
import type { Domain } from '../../../src/domain/domain.ts';
import type { Role } from '../../../src/identity/identity-store.ts';
import type { RunningApi } from '../harness.ts';

export const GYM_A = 'gym-a';
export const GYM_B = 'gym-b';

export interface Attempt {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  /** A binary body (an upload) with its Content-Type, instead of JSON. */
  upload?: { contentType: string; bytes: Buffer };
  /** Aimed at gym A's data by name: must be refused. Otherwise (a listing without a gym, the caller's own data) it may answer, with B's data only. */
  targetsA: boolean;
  /** Statuses an attempt that does not target A may answer besides 200 and 403 (400: a confirmation that is not the caller's). */
  answers?: readonly number[];
}

export type Case = { public: true } | { attempts: Attempt[] };

/** Accounts seeded in both gyms, one per role, by gym and role: their user ids. B's tokens carry B's ids. */
export type Accounts = Record<typeof GYM_A | typeof GYM_B, Record<Exclude<Role, 'platform_admin'>, string>>;

export interface TenancyContext {
  api: RunningApi;
  domain: Domain;
  accounts: Accounts;
}

export interface FeatureTenancy<Name extends string> {
  cases: Record<Name, Case>;
  /** Writes both gyms' data of the feature; returns strings that only gym A's data holds (ids of documents, names). */
  seed?(context: TenancyContext): Promise<string[]>;
  /** Gym A's data of the feature, compared before and after every attempt. */
  stateOfA?(context: TenancyContext): Promise<unknown>;
}
