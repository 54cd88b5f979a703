/**
 * The roster of one occurrence, for its coach: who holds a place (checked in or not), then the waitlist in
 * order, with display names from identity. A function of its own so that other features can add to each
 * entry (the strap an athlete wears, from pairing).
 */
import type { DocumentStore } from '../../documents/document-store.ts';
import type { IdentityStore } from '../../identity/identity-store.ts';
import { BOOKINGS } from './collections.ts';

export interface RosterEntry {
  userId: string;
  displayName: string;
  status: 'booked' | 'waitlisted';
  /** 1-based place in the waitlist, for waitlisted entries. */
  position?: number;
  checkedIn: boolean;
  checkedInAt?: number;
  bookedAt: number;
}

export async function buildRoster(stores: { documents: DocumentStore; identity: IdentityStore }, occurrence: string): Promise<RosterEntry[]> {
  const bookings = await stores.documents.collection(BOOKINGS).find({ occurrence, active: true }, { orderBy: ['position'] });
  const entries: RosterEntry[] = [];
  let waiting = 0;
  for (const booking of bookings) {
    if (booking.status === 'cancelled') continue;
    const user = await stores.identity.getUser(booking.user);
    const entry: RosterEntry = {
      userId: booking.user,
      displayName: user?.displayName ?? booking.user,
      status: booking.status,
      checkedIn: booking.checkedInAt !== undefined,
      bookedAt: booking.createdAt,
    };
    if (booking.checkedInAt !== undefined) entry.checkedInAt = booking.checkedInAt;
    if (booking.status === 'waitlisted') entry.position = ++waiting;
    entries.push(entry);
  }
  // Places first by name, then the waitlist in its order (find sorted by position, which is 0 for places).
  const placed = entries.filter((e) => e.status === 'booked').sort((a, b) => a.displayName.localeCompare(b.displayName) || a.userId.localeCompare(b.userId));
  return [...placed, ...entries.filter((e) => e.status === 'waitlisted')];
}
