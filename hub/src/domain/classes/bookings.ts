/**
 * Bookings of one occurrence: a place while `booked < capacity`, else the waitlist while it has room; a
 * cancellation frees the place and promotes the first waitlisted in the same transaction. The occurrence's
 * document is where concurrent bookings meet: its counters change only by guarded updates inside
 * `documents.transaction`, which both stores serialize (the contract suite's booking case).
 */
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { PulsebridgeError } from '@pulsebridge/runtime';
import type { DocumentSession, DocumentStore } from '../../documents/document-store.ts';
import { BOOKINGS, CLASSES, OCCURRENCES } from './collections.ts';
import { occurrenceId } from './occurrences.ts';
import { DAY_MS } from './recurrence.ts';

export type BookingDoc = Static<typeof BOOKINGS.schema>;

/** A rule of the domain refused the change (409), or the booking asked for is not there (404). */
export class BookingRefused extends PulsebridgeError<'conflict' | 'not_found'> {}

export interface BookRequest {
  gym: string;
  classId: string;
  /** The occurrence, by the instant its rule gives it. */
  start: number;
  user: string;
  bookedBy: string;
  now: number;
}

export interface Booked {
  booking: BookingDoc;
  className: string;
  startsAt: number;
  /** 1-based waitlist position, for a waitlisted booking. */
  position: number | undefined;
}

/**
 * Books a place or a waitlist position, all in one transaction: the class's booking rules are read where the
 * counters change, so a class changed meanwhile cannot be booked by its old rules. 'no_occurrence' when the occurrence has no document yet: the caller checks it is one and writes it
 * (ensureOccurrence, outside a transaction: a racing insert must not abort MongoDB's), then calls again.
 */
export async function book(documents: DocumentStore, request: BookRequest): Promise<Booked | 'no_occurrence'> {
  return documents.transaction(async (tx) => {
    const cls = await tx.collection(CLASSES).get(request.classId);
    if (cls === undefined || cls.gym !== request.gym) throw new BookingRefused('not_found', `no class ${request.classId}`);
    const occurrences = tx.collection(OCCURRENCES);
    const bookings = tx.collection(BOOKINGS);
    const id = occurrenceId(cls.id, request.start);
    const occurrence = await occurrences.get(id);
    if (occurrence === undefined) return 'no_occurrence';
    const startsAt = occurrence.startsAt ?? occurrence.start;
    if (occurrence.cancelled) throw new BookingRefused('conflict', 'this occurrence is cancelled');
    if (request.now >= startsAt) throw new BookingRefused('conflict', 'this occurrence has started');
    const opens = startsAt - cls.bookingOpensDays * DAY_MS;
    if (request.now < opens) throw new BookingRefused('conflict', `booking opens at ${new Date(opens).toISOString()}`);
    if ((await bookings.findOne({ occurrence: id, user: request.user, active: true })) !== undefined)
      throw new BookingRefused('conflict', 'this athlete already holds a place or a waitlist position in this occurrence');
    // The guarded increment is where concurrent bookings meet: it takes a place or matches nothing.
    const took = (await occurrences.update({ id, capacity: occurrence.capacity, booked: { lt: occurrence.capacity } }, { inc: { booked: 1 } })) === 1;
    let seq = 0;
    let position: number | undefined;
    if (!took) {
      const queued = (await occurrences.update({ id, waitlisted: { lt: cls.waitlistLimit } }, { inc: { waitlisted: 1, waitSeq: 1 } })) === 1;
      if (!queued) throw new BookingRefused('conflict', `the class is full and its waitlist too (${cls.waitlistLimit} places)`);
      // Nothing else changed the occurrence since it was read in this transaction (SQLite runs them one at a time,
      // MongoDB retries one that met a concurrent write). The newest in line is last: its position is the queue's length.
      seq = occurrence.waitSeq + 1;
      position = occurrence.waitlisted + 1;
    }
    const booking: BookingDoc = {
      id: randomUUID(),
      gym: cls.gym,
      class: cls.id,
      occurrence: id,
      start: request.start,
      user: request.user,
      status: took ? 'booked' : 'waitlisted',
      active: true,
      position: seq,
      bookedBy: request.bookedBy,
      createdAt: request.now,
    };
    await bookings.insert(booking);
    return { booking, className: cls.name, startsAt, position };
  });
}

/** Moves the first waitlisted into free places, in waitlist order; returns the bookings promoted. */
export async function promote(tx: DocumentSession, occurrenceId: string): Promise<BookingDoc[]> {
  const occurrences = tx.collection(OCCURRENCES);
  const bookings = tx.collection(BOOKINGS);
  const promoted: BookingDoc[] = [];
  for (;;) {
    const occurrence = await occurrences.get(occurrenceId);
    if (occurrence === undefined || occurrence.cancelled || occurrence.booked >= occurrence.capacity) return promoted;
    const [first] = await bookings.find({ occurrence: occurrenceId, status: 'waitlisted', active: true }, { orderBy: ['position'], limit: 1 });
    if (first === undefined) return promoted;
    await bookings.update({ id: first.id }, { set: { status: 'booked' } });
    await occurrences.update({ id: occurrenceId }, { inc: { booked: 1, waitlisted: -1 } });
    promoted.push({ ...first, status: 'booked' });
  }
}

export interface CancelRequest {
  occurrence: string;
  user: string;
  /** When the occurrence starts; a place cannot be given back less than `windowMs` before, unless `staff`. */
  startsAt: number;
  windowMs: number;
  staff: boolean;
  now: number;
}

/** Cancels the athlete's active booking and promotes from the waitlist; returns the cancelled booking and who moved up. */
export async function cancelBooking(documents: DocumentStore, request: CancelRequest): Promise<{ cancelled: BookingDoc; promoted: BookingDoc[] }> {
  return documents.transaction(async (tx) => {
    const bookings = tx.collection(BOOKINGS);
    const booking = await bookings.findOne({ occurrence: request.occurrence, user: request.user, active: true });
    if (booking === undefined) throw new BookingRefused('not_found', 'this athlete holds no booking in this occurrence');
    if (booking.status === 'booked' && !request.staff && request.now > request.startsAt - request.windowMs)
      throw new BookingRefused(
        'conflict',
        `places can be given back until ${request.windowMs / 60_000} minutes before the start; ask the gym's staff (a cancellation now counts as a no-show)`,
      );
    const cancelled: BookingDoc = { ...booking, status: 'cancelled', active: false, cancelledAt: request.now };
    await bookings.replace(cancelled);
    await tx.collection(OCCURRENCES).update({ id: request.occurrence }, { inc: booking.status === 'booked' ? { booked: -1 } : { waitlisted: -1 } });
    return { cancelled, promoted: await promote(tx, request.occurrence) };
  });
}

/** The position (1-based) of a waitlisted booking in its queue. */
export async function waitlistPosition(documents: DocumentStore, booking: BookingDoc): Promise<number | undefined> {
  if (booking.status !== 'waitlisted') return undefined;
  return (await documents.collection(BOOKINGS).count({ occurrence: booking.occurrence, status: 'waitlisted', active: true, position: { lt: booking.position } })) + 1;
}
