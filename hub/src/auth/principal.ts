/**
 * Who made an API request, as one shape whatever proved it: the hub's own access token, a federated issuer's
 * token, or a service's client-credentials token. Routes never look at tokens; they see a Principal.
 */
import { ALL_GYMS, type Role } from '../identity/identity-store.ts';

/** Scopes the API's routes ask for; a token carries the ones its client was granted. */
export const API_SCOPES = {
  'agents:read': 'Read edge agents, their state and sensors',
  'agents:write': 'Create, enroll, rotate, disable and remove edge agents',
  'readings:read': 'Read stored and live readings',
  'readings:write': 'Correct or discard readings held apart',
  'audit:read': 'Read the audit log of security events',
  'members:write': 'Invite athletes and coaches to a gym, and give or take their roles',
  'gym:read': 'Read a gym: its settings, members, equipment, classes, trainings, groups and sensors',
  'gym:write': 'Manage a gym: its settings, equipment, class schedules, trainings, check-ins and loaner straps',
  'me:read': 'Read my profile, bookings, friends, groups and sensors',
  'me:write': 'Edit my profile and privacy, book classes, pair sensors, and manage friends and groups',
} as const;
export type ApiScope = keyof typeof API_SCOPES;

export interface GymRole {
  /** A gym id, or ALL_GYMS for a platform admin. */
  gym: string;
  role: Role;
}

export interface Principal {
  /** `user`: a person (own or federated account). `service`: a client acting for itself (client credentials). */
  kind: 'user' | 'service';
  /** The user id, or the client id of a service. */
  subject: string;
  /** The issuer of the token that proved it. */
  issuer: string;
  /** The client the token was issued to. */
  clientId: string | undefined;
  scopes: ReadonlySet<string>;
  roles: readonly GymRole[];
  /** The token's `jti`, for the logs. */
  tokenId: string | undefined;
}

/**
 * The gyms where the principal holds any of `roles`: 'all' for a platform admin, who holds every role in every
 * gym. Empty when the principal may not use a route needing those roles at all.
 */
export function gymsWithRoles(principal: Principal, roles: readonly Role[]): ReadonlySet<string> | 'all' {
  const gyms = new Set<string>();
  for (const held of principal.roles) {
    if (held.role === 'platform_admin' && held.gym === ALL_GYMS) return 'all';
    if (held.gym !== ALL_GYMS && roles.includes(held.role)) gyms.add(held.gym);
  }
  return gyms;
}
