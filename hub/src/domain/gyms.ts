/**
 * A gym's own settings: its name and its time zone, in which its class schedules recur. A gym exists as soon
 * as someone holds a role in it; its settings document is written by its admin (PUT /api/v1/gyms/:gym), and
 * until then it reads as named by its id, in UTC.
 */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec, DocumentStore } from '../documents/document-store.ts';
import type { IdentityStore } from '../identity/identity-store.ts';

export const DEFAULT_TIME_ZONE = 'UTC';

export const GYMS = {
  name: 'gyms',
  schema: Type.Object(
    {
      id: Type.String(),
      name: Type.String(),
      timeZone: Type.String(),
      createdAt: Type.Integer(),
      updatedAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [],
} as const satisfies CollectionSpec;

export const GYM_COLLECTIONS: readonly CollectionSpec[] = [GYMS];

export interface GymSettings {
  id: string;
  name: string;
  timeZone: string;
  /** False while the gym's admin has not saved its settings: the defaults apply. */
  configured: boolean;
}

export async function gymSettings(documents: DocumentStore, gym: string): Promise<GymSettings> {
  const doc = await documents.collection(GYMS).get(gym);
  return doc ? { id: doc.id, name: doc.name, timeZone: doc.timeZone, configured: true } : { id: gym, name: gym, timeZone: DEFAULT_TIME_ZONE, configured: false };
}

/** True for an IANA zone name this runtime knows (e.g. Europe/Berlin). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone.length <= 64;
  } catch {
    return false;
  }
}

/** True when no one but `userId` is a gym_admin of the gym: a gym keeps one (revoking or erasing them is refused). */
export async function isLastAdmin(identity: IdentityStore, gym: string, userId: string): Promise<boolean> {
  const others = (await identity.listMembershipsOfGym(gym)).filter((m) => m.role === 'gym_admin' && m.userId !== userId);
  return others.length === 0;
}
