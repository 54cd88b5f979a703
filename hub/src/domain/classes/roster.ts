/**
 * The roster of one occurrence, for its coach: who holds a place (checked in or not), then the waitlist in
 * order, with display names from identity and the sensors each athlete wears now in the gym (their own
 * straps and loaners, from pairing's bindings).
 */
import type { DocumentStore } from '../../documents/document-store.ts';
import type { IdentityStore } from '../../identity/identity-store.ts';
import { BINDINGS, type BindingKind } from '../pairing/collections.ts';
import { BOOKINGS } from './collections.ts';

export interface WornSensor {
  sensor: string;
  /** own: paired by the athlete; loaner: the gym's strap, lent for a class; equipment: built into a machine they use. */
  kind: BindingKind;
  label?: string;
  /** The machine, for equipment. */
  equipment?: string;
}

export interface RosterEntry {
  userId: string;
  displayName: string;
  status: 'booked' | 'waitlisted';
  /** 1-based place in the waitlist, for waitlisted entries. */
  position?: number;
  checkedIn: boolean;
  checkedInAt?: number;
  bookedAt: number;
  sensors: WornSensor[];
}

export async function buildRoster(stores: { documents: DocumentStore; identity: IdentityStore }, gym: string, occurrence: string): Promise<RosterEntry[]> {
  const bookings = await stores.documents.collection(BOOKINGS).find({ occurrence, active: true }, { orderBy: ['position'] });
  const entries: RosterEntry[] = [];
  let waiting = 0;
  for (const booking of bookings) {
    if (booking.status === 'cancelled') continue;
    const user = await stores.identity.getUser(booking.user);
    const worn = await stores.documents.collection(BINDINGS).find({ athlete: booking.user, gym, active: true });
    const entry: RosterEntry = {
      userId: booking.user,
      displayName: user?.displayName ?? booking.user,
      status: booking.status,
      checkedIn: booking.checkedInAt !== undefined,
      bookedAt: booking.createdAt,
      sensors: worn.map((binding) => ({
        sensor: binding.sensor,
        kind: binding.kind,
        ...(binding.label === undefined ? {} : { label: binding.label }),
        ...(binding.equipment === undefined ? {} : { equipment: binding.equipment }),
      })),
    };
    if (booking.checkedInAt !== undefined) entry.checkedInAt = booking.checkedInAt;
    if (booking.status === 'waitlisted') entry.position = ++waiting;
    entries.push(entry);
  }
  // Places first by name, then the waitlist in its order (find sorted by position, which is 0 for places).
  const placed = entries.filter((e) => e.status === 'booked').sort((a, b) => a.displayName.localeCompare(b.displayName) || a.userId.localeCompare(b.userId));
  return [...placed, ...entries.filter((e) => e.status === 'waitlisted')];
}
