/**
 * Occurrences of a class as the API shows them: the rule's instants in the gym's zone, with the exceptions
 * (cancelled, overridden) and booking counters their documents hold. An occurrence document exists only once
 * something happened to it (a booking, a cancellation, an override).
 */
import type { Static } from '@sinclair/typebox';
import { DocumentStoreError, type DocumentStore } from '../../documents/document-store.ts';
import { CLASSES, OCCURRENCES } from './collections.ts';
import { DAY_MS, MINUTE_MS, isOccurrence, occurrencesBetween, type Schedule } from './recurrence.ts';

export type ClassDoc = Static<typeof CLASSES.schema>;
export type OccurrenceDoc = Static<typeof OCCURRENCES.schema>;

/** How far an override may move an occurrence from the instant its rule gives it. */
export const MAX_OVERRIDE_SHIFT_MS = 7 * DAY_MS;

export interface OccurrenceView {
  id: string;
  class: string;
  /** The rule's instant: the occurrence's identity in paths. */
  start: number;
  /** When it really starts (an override may move it). */
  startsAt: number;
  endsAt: number;
  room: string;
  instructors: string[];
  capacity: number;
  booked: number;
  waitlisted: number;
  cancelled: boolean;
  overridden: boolean;
}

export const occurrenceId = (classId: string, start: number): string => `${classId}@${start}`;

export const scheduleOf = (cls: ClassDoc, timeZone: string): Schedule => ({ start: cls.start, rrule: cls.rrule, timeZone });

export function viewOf(cls: ClassDoc, start: number, doc: OccurrenceDoc | undefined): OccurrenceView {
  const startsAt = doc?.startsAt ?? start;
  return {
    id: occurrenceId(cls.id, start),
    class: cls.id,
    start,
    startsAt,
    endsAt: startsAt + (doc?.durationMinutes ?? cls.durationMinutes) * MINUTE_MS,
    room: doc?.room ?? cls.room,
    instructors: doc?.instructors ?? cls.instructors,
    capacity: doc?.capacity ?? cls.capacity,
    booked: doc?.booked ?? 0,
    waitlisted: doc?.waitlisted ?? 0,
    cancelled: doc?.cancelled ?? false,
    overridden: doc !== undefined && (doc.startsAt !== undefined || doc.durationMinutes !== undefined || doc.room !== undefined || doc.instructors !== undefined),
  };
}

/** The occurrences that start in [from, to) (by their real start, overrides applied), ascending. */
export async function listOccurrences(documents: DocumentStore, cls: ClassDoc, timeZone: string, from: number, to: number): Promise<OccurrenceView[]> {
  const starts = occurrencesBetween(scheduleOf(cls, timeZone), from, to);
  const docs = await documents.collection(OCCURRENCES).find({ class: cls.id, start: { gte: from - MAX_OVERRIDE_SHIFT_MS, lt: to + MAX_OVERRIDE_SHIFT_MS } });
  const byStart = new Map(docs.map((doc) => [doc.start, doc]));
  const views = new Map<number, OccurrenceView>();
  for (const start of starts) views.set(start, viewOf(cls, start, byStart.get(start)));
  // Moved in from outside the window, or out of it.
  for (const doc of docs) views.set(doc.start, viewOf(cls, doc.start, doc));
  return [...views.values()].filter((view) => view.startsAt >= from && view.startsAt < to).sort((a, b) => a.startsAt - b.startsAt || a.start - b.start);
}

/** The occurrence of `cls` the rule gives at `start`, or whose document exists; undefined when there is none. */
export async function findOccurrence(documents: DocumentStore, cls: ClassDoc, timeZone: string, start: number): Promise<OccurrenceView | undefined> {
  const doc = await documents.collection(OCCURRENCES).get(occurrenceId(cls.id, start));
  if (doc !== undefined) return viewOf(cls, start, doc);
  return isOccurrence(scheduleOf(cls, timeZone), start) ? viewOf(cls, start, undefined) : undefined;
}

/** Writes the occurrence's document when it has none yet; two callers racing both end with the one document. */
export async function ensureOccurrence(documents: DocumentStore, cls: ClassDoc, start: number): Promise<void> {
  const occurrences = documents.collection(OCCURRENCES);
  if ((await occurrences.get(occurrenceId(cls.id, start))) !== undefined) return;
  try {
    await occurrences.insert({
      id: occurrenceId(cls.id, start),
      gym: cls.gym,
      class: cls.id,
      start,
      capacity: cls.capacity,
      booked: 0,
      waitlisted: 0,
      waitSeq: 0,
      cancelled: false,
    });
  } catch (err) {
    if (!(err instanceof DocumentStoreError && err.code === 'conflict')) throw err;
  }
}
