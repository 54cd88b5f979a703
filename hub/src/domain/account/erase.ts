/**
 * Erasing an athlete's account: nothing of them is left in any store. In order:
 * 1. the series store: the readings of each of their bindings, in every gym, in [from, until ?? now);
 * 2. the document store: every collection, as ERASURE says (delete their documents, or replace their id by
 *    DELETED_USER where the document is someone else's, or nothing where a collection holds no user ids);
 * 3. the identity store last (IdentityStore.deleteUser), so that a failure midway leaves the account in
 *    place and the athlete can ask again: every step finds what is left and does the rest.
 * Files follow their documents: profile photos leave the image store with their photo documents, and a
 * mailer that keeps mail (the demo's folder) forgets the mails naming them, before the identity step.
 */
import type { Collection, CollectionSpec, Where } from '../../documents/document-store.ts';
import { DELETED_USER, redacted, tracesOf, mentions } from '../../identity/erasure.ts';
import type { IdentityStore, User } from '../../identity/identity-store.ts';
import type { Mailer } from '../../identity/one-time-links.ts';
import { cancelBooking } from '../classes/bookings.ts';
import { BOOKINGS } from '../classes/collections.ts';
import type { Domain } from '../domain.ts';
import { isLastAdmin } from '../gyms.ts';
import { announceChange } from '../pairing/bindings.ts';
import { BINDINGS } from '../pairing/collections.ts';
import { removePhotoFiles } from '../photos/photos.ts';
import { PHOTOS } from '../photos/collections.ts';
import { SESSIONS } from '../sessions/collections.ts';
import { GROUP_MEMBERS, GROUPS } from '../social/collections.ts';

export { DELETED_USER };

/**
 * What erasure does in one collection. `delete`: documents whose field (any of them) is the user's id go.
 * `anonymise`: in documents that are someone else's, that field becomes DELETED_USER. `removeFromLists`:
 * array fields the user's id is taken out of. `redact`: free text people write (names, descriptions, notes)
 * that may name the person (id, email or name): those traces are replaced. `holdsNoUserIds`: why there is nothing to do.
 */
export interface CollectionErasure {
  delete?: readonly string[];
  /** Narrows `delete` (a photo's ownerId is a user id only for profile photos). */
  deleteWhere?: Where;
  anonymise?: readonly string[];
  removeFromLists?: readonly string[];
  redact?: readonly string[];
  holdsNoUserIds?: string;
}

/**
 * Every collection of DOMAIN_COLLECTIONS, by name (a test fails when one is missing, or names a field its
 * schema lacks). The order is the order of erasure: bookings first, so that a future place is given back
 * (and the waitlist promoted) before the booking goes.
 */
export const ERASURE: Readonly<Record<string, CollectionErasure>> = {
  // Future active bookings are cancelled first (eraseBookings), then every booking of theirs goes; a booking
  // staff made for someone else keeps, as its maker, DELETED_USER.
  class_bookings: { delete: ['user'], anonymise: ['bookedBy'] },
  gyms: { holdsNoUserIds: "a gym's settings" },
  equipment_types: { holdsNoUserIds: 'kinds of machines and their attribute schemas' },
  equipment: { holdsNoUserIds: 'machines and their sensors' },
  // The gym's maintenance history stays: who changed a status becomes DELETED_USER.
  equipment_log: { anonymise: ['by'], redact: ['note'] },
  equipment_sensors: { holdsNoUserIds: 'which machine a sensor is built into' },
  // A group they created stays for its other members; a name or description that names them does not.
  groups: { anonymise: ['createdBy'], redact: ['name', 'description'] },
  // Leaving keeps the group's counts, and a group whose last owner leaves passes to its longest member (leaveGroups).
  group_members: { delete: ['user'] },
  // `by` is always one of low and high: the friendship goes as a whole, requests and blocks too.
  friendships: { delete: ['low', 'high'] },
  trainings: { anonymise: ['createdBy'], redact: ['name', 'description'] },
  // Instructor lists must hold the gym's staff (the classes routes check it on every change), so the erased
  // person is taken out rather than replaced by a marker no one can be.
  classes: { removeFromLists: ['instructors'], redact: ['name', 'description'] },
  class_occurrences: { removeFromLists: ['instructors'] },
  calendar_feeds: { delete: ['user'] },
  // Staff label the gym's straps as they like ("Erin's strap"): a label naming them loses the name.
  gym_sensors: { redact: ['label'] },
  // Their readings went first (eraseReadings); a binding a coach made or ended for someone else is kept with
  // DELETED_USER as its maker.
  bindings: { delete: ['athlete'], anonymise: ['createdBy', 'endedBy'] },
  pairing_windows: { delete: ['athlete'] },
  photos: { delete: ['ownerId'], deleteWhere: { ownerKind: 'profile' } },
  webhook_subscriptions: { holdsNoUserIds: "a gym's receivers: URLs, events and secrets" },
  // A delivery is the gym's record of what its other apps were told: kept, with the person redacted from
  // its body (a replay then sends the redacted body) and from the receiver's error text.
  webhook_deliveries: { redact: ['payload', 'lastError'] },
  class_runs: { anonymise: ['startedBy', 'endedBy'] },
  sessions: { delete: ['athlete'] },
  session_sensors: { delete: ['athlete'] },
  session_samples: { delete: ['athlete'] },
};

/** What was removed or changed, per store, for the log and the tests. */
export interface ErasureReport {
  readings: number;
  documents: Record<string, { deleted: number; changed: number }>;
  /** Kept mails (the demo's mail folder) that named them. */
  mails: number;
}

/** Documents read per page while scanning a collection. */
const PAGE = 500;

/** The gyms where the user is the only gym_admin: a gym must keep one (gyms routes refuse removing it too). */
export async function soleAdminGyms(identity: IdentityStore, userId: string): Promise<string[]> {
  const gyms: string[] = [];
  for (const membership of await identity.listMembershipsOfUser(userId)) {
    if (membership.role === 'gym_admin' && (await isLastAdmin(identity, membership.gym, userId))) gyms.push(membership.gym);
  }
  return gyms;
}

type Stores = Pick<Domain, 'documents' | 'identity' | 'series' | 'images' | 'pairing' | 'cache' | 'events' | 'now' | 'log'>;

/**
 * Erases the account; undefined when there is no such user. Every step can be repeated: a failure leaves the
 * account (identity goes last), and the next call erases what is left. The caller checks soleAdminGyms first.
 */
export async function eraseAccount(
  domain: Stores,
  specs: readonly CollectionSpec[],
  userId: string,
  options: { mailer?: Pick<Mailer, 'forget'> } = {},
): Promise<ErasureReport | undefined> {
  const user = await domain.identity.getUser(userId);
  if (user === undefined) return undefined;
  const report: ErasureReport = { readings: await eraseReadings(domain, userId), documents: {}, mails: 0 };
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  for (const [name, erasure] of Object.entries(ERASURE)) {
    const spec = byName.get(name);
    if (spec === undefined) throw new Error(`erasure names ${name}, which is not a collection`);
    report.documents[name] = await eraseCollection(domain, spec, erasure, user);
  }
  report.mails = (await options.mailer?.forget?.(tracesOf(user))) ?? 0;
  await domain.identity.deleteUser(userId);
  // Not the id: the log would otherwise be one more place that keeps a trace of them.
  domain.log.info({ readings: report.readings, mails: report.mails }, 'an account was erased');
  return report;
}

/** For each of the athlete's bindings, in every gym: the readings of that sensor in [from, until ?? now). */
async function eraseReadings(domain: Stores, userId: string): Promise<number> {
  let removed = 0;
  for (const binding of await everyDocument(domain.documents.collection(BINDINGS), { athlete: userId })) {
    const to = binding.until ?? domain.now();
    if (to <= binding.from) continue;
    removed += await domain.series.deleteRange({ gym: binding.gym, sensor: binding.sensor, from: binding.from, to });
  }
  return removed;
}

async function eraseCollection(domain: Stores, spec: CollectionSpec, erasure: CollectionErasure, user: User): Promise<{ deleted: number; changed: number }> {
  const collection = domain.documents.collection(spec) as Collection<Record<string, unknown> & { id: string }>;
  const counts = { deleted: 0, changed: 0 };
  if (spec.name === BOOKINGS.name) await cancelFutureBookings(domain, user.id);
  if (spec.name === BINDINGS.name) await announceGymsOfActiveBindings(domain, user.id);
  if (spec.name === GROUP_MEMBERS.name) counts.deleted += await leaveGroups(domain, user.id);
  for (const field of erasure.delete ?? []) {
    const where: Where = { ...erasure.deleteWhere, [field]: user.id };
    if (spec.name === SESSIONS.name) {
      for (const session of await everyDocument(collection, where)) await domain.cache.deletePrefix(`session:${session.id}`);
    }
    if (spec.name === PHOTOS.name) {
      for (const photo of await everyDocument(collection, where)) {
        counts.deleted += await collection.delete({ id: photo.id });
        await removePhotoFiles(domain, photo.id);
      }
      continue;
    }
    counts.deleted += await collection.delete(where);
  }
  for (const field of erasure.anonymise ?? []) counts.changed += await collection.update({ [field]: user.id }, { set: { [field]: DELETED_USER } });
  if ((erasure.removeFromLists ?? []).length > 0 || (erasure.redact ?? []).length > 0) counts.changed += await rewriteMatching(collection, erasure, user);
  return counts;
}

/**
 * Array fields and free text cannot be queried (the document store's conditions are on top-level scalars):
 * the whole collection is read page by page. Erasure is rare; these collections are the gym's classes and
 * its webhook log.
 */
async function rewriteMatching(collection: Collection<Record<string, unknown> & { id: string }>, erasure: CollectionErasure, user: User): Promise<number> {
  const traces = tracesOf(user);
  let changed = 0;
  for (const doc of await everyDocument(collection, {})) {
    const set: Record<string, unknown> = {};
    for (const field of erasure.removeFromLists ?? []) {
      const list = doc[field];
      if (Array.isArray(list) && list.includes(user.id)) set[field] = list.filter((item) => item !== user.id);
    }
    for (const field of erasure.redact ?? []) {
      const text = doc[field];
      if (typeof text === 'string' && mentions(text, traces)) set[field] = redacted(text, traces);
    }
    if (Object.keys(set).length > 0) changed += await collection.update({ id: doc.id }, { set });
  }
  return changed;
}

/**
 * A future place they hold is given back the way a cancellation gives it back (counters, waitlist promotion),
 * and the gym's other apps are told, without the person's id. Past bookings are history: their occurrence's
 * counts stay, the bookings go.
 */
async function cancelFutureBookings(domain: Stores, userId: string): Promise<void> {
  const now = domain.now();
  const future = await everyDocument(domain.documents.collection(BOOKINGS), { user: userId, active: true, start: { gt: now } });
  for (const booking of future) {
    const { cancelled } = await cancelBooking(domain.documents, { occurrence: booking.occurrence, user: userId, startsAt: booking.start, windowMs: 0, staff: true, now });
    await domain.events?.emit(cancelled.gym, 'booking.cancelled', {
      booking: cancelled.id,
      class: cancelled.class,
      start: new Date(cancelled.start).toISOString(),
      user: DELETED_USER,
    });
  }
}

/** Leaves each group as a member who steps out does: counts kept, and never a group without an owner while it has members. */
async function leaveGroups(domain: Stores, userId: string): Promise<number> {
  let left = 0;
  for (const membership of await everyDocument(domain.documents.collection(GROUP_MEMBERS), { user: userId })) {
    left += await domain.documents.transaction(async (tx) => {
      const groups = tx.collection(GROUPS);
      const members = tx.collection(GROUP_MEMBERS);
      if ((await members.delete({ id: membership.id })) === 0) return 0;
      const owner = membership.role === 'owner';
      await groups.update({ id: membership.group }, { inc: owner ? { memberCount: -1, ownerCount: -1 } : { memberCount: -1 } });
      const group = await groups.get(membership.group);
      if (!owner || group === undefined || group.ownerCount > 0) return 1;
      const [heir] = await members.find({ group: membership.group }, { orderBy: ['joinedAt'], limit: 1 });
      if (heir !== undefined) {
        await members.update({ id: heir.id }, { set: { role: 'owner' } });
        await groups.update({ id: group.id }, { inc: { ownerCount: 1 } });
      }
      return 1;
    });
  }
  return left;
}

/** Agents admit a sensor while its binding is active: the gyms that lose one republish their allowlist. */
async function announceGymsOfActiveBindings(domain: Stores, userId: string): Promise<void> {
  const active = await everyDocument(domain.documents.collection(BINDINGS), { athlete: userId, active: true });
  if (active.length === 0) return;
  await domain.documents.collection(BINDINGS).delete({ athlete: userId, active: true });
  for (const gym of new Set(active.map((binding) => binding.gym))) await announceChange(domain, gym);
}

/** Every document matching, page by page. */
async function everyDocument<T extends { id: string }>(collection: Collection<T>, where: Where): Promise<T[]> {
  const all: T[] = [];
  for (let after: string | undefined; ;) {
    const page = await collection.find(where, { limit: PAGE, ...(after === undefined ? {} : { after: [after] }) });
    all.push(...page);
    if (page.length < PAGE) return all;
    after = page.at(-1)!.id;
  }
}
