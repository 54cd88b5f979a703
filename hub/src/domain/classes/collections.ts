/** The document collections of classes: classes (recurring by RRULE in the gym's time zone), their occurrences and bookings. */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';

export const CLASSES = {
  name: 'classes',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      name: Type.String(),
      description: Type.String(),
      room: Type.String(),
      /** User ids of coaches or admins of the gym. */
      instructors: Type.Array(Type.String()),
      capacity: Type.Integer({ minimum: 1 }),
      training: Type.Optional(Type.String()),
      /** The first occurrence, local wall time in the gym's zone: YYYY-MM-DDTHH:mm. */
      start: Type.String(),
      durationMinutes: Type.Integer({ minimum: 1 }),
      rrule: Type.Optional(Type.String()),
      bookingOpensDays: Type.Integer({ minimum: 0 }),
      cancellationWindowMinutes: Type.Integer({ minimum: 0 }),
      waitlistLimit: Type.Integer({ minimum: 0 }),
      createdAt: Type.Integer(),
      updatedAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_gym', fields: ['gym'] }],
} as const satisfies CollectionSpec;

/**
 * One occurrence of a class, written on its first booking, cancellation or override: the serialization point
 * of its bookings (a guarded update of `booked` takes a place). `id` is `${class}@${start}`.
 */
export const OCCURRENCES = {
  name: 'class_occurrences',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      class: Type.String(),
      /** The instant the rule gives it (ms): its identity, even when overridden to another time. */
      start: Type.Integer(),
      capacity: Type.Integer({ minimum: 0 }),
      booked: Type.Integer({ minimum: 0 }),
      waitlisted: Type.Integer({ minimum: 0 }),
      /** Last waitlist position handed out: positions only grow, so the queue keeps its order. */
      waitSeq: Type.Integer({ minimum: 0 }),
      cancelled: Type.Boolean(),
      /** Overrides of this occurrence only. */
      startsAt: Type.Optional(Type.Integer()),
      durationMinutes: Type.Optional(Type.Integer({ minimum: 1 })),
      room: Type.Optional(Type.String()),
      instructors: Type.Optional(Type.Array(Type.String())),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'by_class_start', fields: ['class', 'start'] }],
} as const satisfies CollectionSpec;

export const BOOKING_STATUSES = ['booked', 'waitlisted', 'cancelled'] as const;

export const BOOKINGS = {
  name: 'class_bookings',
  schema: Type.Object(
    {
      id: Type.String(),
      gym: Type.String(),
      class: Type.String(),
      occurrence: Type.String(),
      /** The occurrence's start instant (ms), for "my bookings" in time order. */
      start: Type.Integer(),
      user: Type.String(),
      status: Type.Union(BOOKING_STATUSES.map((s) => Type.Literal(s))),
      /** False once cancelled: one active booking per athlete and occurrence. */
      active: Type.Boolean(),
      /** Waitlist order (the occurrence's waitSeq when waitlisted). */
      position: Type.Integer({ minimum: 0 }),
      checkedInAt: Type.Optional(Type.Integer()),
      bookedBy: Type.String(),
      createdAt: Type.Integer(),
      cancelledAt: Type.Optional(Type.Integer()),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'one_active_per_user', fields: ['occurrence', 'user'], unique: true, partial: { active: true } },
    // Queries bind `active` as a parameter, which SQLite cannot match to a partial index: this one serves the lookups.
    { name: 'by_occurrence_user', fields: ['occurrence', 'user'] },
    { name: 'by_occurrence_status', fields: ['occurrence', 'status', 'position'] },
    { name: 'by_user_start', fields: ['user', 'active', 'start'] },
    { name: 'by_class', fields: ['class'] },
  ],
} as const satisfies CollectionSpec;

/** Per-athlete calendar feed URLs: only the SHA-256 of the token (hex) is kept, as the id. */
export const CALENDAR_FEEDS = {
  name: 'calendar_feeds',
  schema: Type.Object(
    {
      id: Type.String(),
      user: Type.String(),
      createdAt: Type.Integer(),
    },
    { additionalProperties: false },
  ),
  indexes: [{ name: 'one_per_user', fields: ['user'], unique: true }],
} as const satisfies CollectionSpec;

export const CLASSES_COLLECTIONS: readonly CollectionSpec[] = [CLASSES, OCCURRENCES, BOOKINGS, CALENDAR_FEEDS];
