/** The operations table of class schedules (RRULEs in the gym's time zone), occurrences, bookings with a waitlist, check-in, iCalendar feeds. */
import { Type } from '@sinclair/typebox';
import { ADMINS, MEMBERS, PUBLIC, STAFF } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { pageSchema, PageQueryFields } from './pages.ts';
import { GymParam } from './schemas.ts';

const ID = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'A class id' });
const UserId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'A user id' });
export const INSTANT_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{3})?Z$';
const Instant = (description: string) => Type.String({ pattern: INSTANT_PATTERN, description: `${description} (UTC, e.g. 2027-03-22T06:00:00Z)` });
const LocalDateTime = (description: string) =>
  Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}$', description: `${description}: local wall time in the gym's time zone, YYYY-MM-DDTHH:mm` });

const ClassPath = Type.Object({ id: ID }, { additionalProperties: false });
const OccurrencePath = Type.Object({ id: ID, start: Instant('The occurrence, by the start its rule gives it') }, { additionalProperties: false });
const BookingPath = Type.Object(
  { id: ID, start: Instant('The occurrence, by the start its rule gives it'), user: Type.String({ ...UserId, description: 'The athlete, or `me`' }) },
  { additionalProperties: false },
);

const classFields = {
  name: Type.String({ minLength: 1, maxLength: 128, description: 'The class name, e.g. Morning spin' }),
  description: Type.String({ maxLength: 4000, description: 'What the class is about' }),
  room: Type.String({ maxLength: 128, description: 'Where it takes place' }),
  instructors: Type.Array(UserId, { maxItems: 10, uniqueItems: true, description: 'User ids of coaches or admins of the gym who lead it' }),
  capacity: Type.Integer({ minimum: 1, maximum: 10_000, description: 'Places per occurrence' }),
  training: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A workout template (training id) of the same gym' })),
  start: LocalDateTime('The first occurrence'),
  durationMinutes: Type.Integer({ minimum: 1, maximum: 1440, description: 'Length of each occurrence in minutes' }),
  rrule: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 512,
      description:
        'RFC 5545 recurrence rule without DTSTART, read in the gym’s time zone (e.g. FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20271231). FREQ is DAILY, WEEKLY, MONTHLY or YEARLY; COUNT at most 1000; UNTIL at most 10 years after the start. Absent: a one-off class.',
    }),
  ),
  bookingOpensDays: Type.Integer({ minimum: 1, maximum: 365, description: 'Booking opens this many days before each occurrence' }),
  cancellationWindowMinutes: Type.Integer({
    minimum: 0,
    maximum: 10_080,
    description: 'An athlete may give a place back until this many minutes before the start; later only staff may cancel it',
  }),
  waitlistLimit: Type.Integer({ minimum: 0, maximum: 1000, description: 'How many may wait for a place; 0: no waitlist' }),
};

export const ClassBody = Type.Object(
  { gym: Type.Optional(Type.String({ ...GymParam, description: 'The gym; default: the caller’s only gym' })), ...classFields },
  { additionalProperties: false },
);
export const ClassPatch = Type.Partial(Type.Object(classFields), { additionalProperties: false });

export const ClassSchema = Type.Object({
  id: Type.String({ description: 'The class id' }),
  gym: Type.String({ description: 'The gym it belongs to' }),
  ...classFields,
  timeZone: Type.String({ description: 'The gym’s IANA time zone, in which `start` and `rrule` are read' }),
  createdAt: Type.String({ format: 'date-time', description: 'When the class was created, ISO 8601 UTC' }),
  updatedAt: Type.String({ format: 'date-time', description: 'When the class was last changed, ISO 8601 UTC' }),
});

export const OccurrenceSchema = Type.Object({
  class: Type.String({ description: 'The class id' }),
  start: Type.String({ description: 'The occurrence’s identity: the start its rule gives it, UTC (used in paths)' }),
  startsAt: Type.String({ description: 'When it really starts, UTC (an override may move it)' }),
  endsAt: Type.String({ description: 'When it ends, UTC' }),
  localStart: Type.String({ description: 'When it starts, gym-local wall time YYYY-MM-DDTHH:mm' }),
  localEnd: Type.String({ description: 'When it ends, gym-local wall time' }),
  timeZone: Type.String({ description: 'The gym’s IANA time zone' }),
  name: Type.String({ description: 'The class name' }),
  room: Type.String({ description: 'Where it takes place' }),
  instructors: Type.Array(Type.String(), { description: 'User ids of who leads it' }),
  capacity: Type.Integer({ description: 'Places' }),
  booked: Type.Integer({ description: 'Places taken' }),
  waitlisted: Type.Integer({ description: 'Athletes waiting for a place' }),
  cancelled: Type.Boolean({ description: 'Cancelled by the gym' }),
  overridden: Type.Boolean({ description: 'Its time, room or instructors differ from the class' }),
});

const OccurrencesQuery = Type.Object(
  {
    from: Instant('Start of the window, inclusive'),
    to: Instant('End of the window, exclusive; at most 366 days after from'),
  },
  { additionalProperties: false },
);

const OverrideBody = Type.Object(
  {
    start: Type.Optional(LocalDateTime('A new start for this occurrence only, within 7 days of the rule’s')),
    durationMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440, description: 'A new length in minutes' })),
    room: Type.Optional(Type.String({ maxLength: 128, description: 'Another room' })),
    instructors: Type.Optional(Type.Array(UserId, { maxItems: 10, uniqueItems: true, description: 'Other instructors (coaches or admins of the gym)' })),
    capacity: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'Another capacity; raising it promotes from the waitlist' })),
  },
  { additionalProperties: false },
);

const BookBody = Type.Object(
  { user: Type.Optional(Type.String({ ...UserId, description: 'The athlete to book for (staff only); default: the caller' })) },
  { additionalProperties: false },
);

export const BookingSchema = Type.Object({
  id: Type.String({ description: 'The booking id' }),
  class: Type.String({ description: 'The class id' }),
  className: Type.String({ description: 'The class name' }),
  gym: Type.String({ description: 'The gym of the class' }),
  start: Type.String({ description: 'The occurrence, by its rule’s start, UTC' }),
  startsAt: Type.String({ description: 'When the occurrence starts, UTC' }),
  user: Type.String({ description: 'The athlete' }),
  status: Type.Union([Type.Literal('booked'), Type.Literal('waitlisted'), Type.Literal('cancelled')], { description: 'booked, waitlisted or cancelled' }),
  position: Type.Optional(Type.Integer({ description: 'Place in the waitlist, 1 first (waitlisted only)' })),
  checkedIn: Type.Boolean({ description: 'Checked in by staff' }),
  createdAt: Type.String({ format: 'date-time', description: 'When the booking was made, ISO 8601 UTC' }),
});

export const RosterEntrySchema = Type.Object({
  userId: Type.String({ description: 'The athlete' }),
  displayName: Type.String({ description: 'Their name' }),
  status: Type.Union([Type.Literal('booked'), Type.Literal('waitlisted')], { description: 'booked or waitlisted' }),
  position: Type.Optional(Type.Integer({ description: 'Place in the waitlist, 1 first' })),
  checkedIn: Type.Boolean({ description: 'Checked in' }),
  checkedInAt: Type.Optional(Type.String({ format: 'date-time', description: 'When staff checked them in, ISO 8601 UTC' })),
  bookedAt: Type.String({ format: 'date-time', description: 'When they booked, ISO 8601 UTC' }),
  sensors: Type.Array(
    Type.Object({
      sensor: Type.String({ description: 'Canonical sensor id' }),
      kind: Type.Union([Type.Literal('own'), Type.Literal('loaner'), Type.Literal('equipment')], {
        description: 'own: paired by the athlete; loaner: a gym strap lent to them; equipment: built into a machine they use',
      }),
      label: Type.Optional(Type.String({ description: 'What the athlete or the gym calls it' })),
      equipment: Type.Optional(Type.String({ description: 'The machine the sensor is built into (equipment)' })),
    }),
    { description: 'The sensors the athlete wears now in this gym: readings of them are theirs' },
  ),
});

const ClassesQuery = Type.Object({ ...PageQueryFields, gym: Type.Optional(GymParam) }, { additionalProperties: false });
const MyBookingsQuery = Type.Object({ ...PageQueryFields }, { additionalProperties: false });
const FeedPath = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128, description: 'The feed’s secret token' }) }, { additionalProperties: false });

const occurrencePath = `${API_PREFIX}/classes/:id/occurrences/:start`;

export const CLASSES_OPERATIONS = {
  listClasses: {
    operationId: 'listClasses',
    path: `${API_PREFIX}/classes`,
    tag: 'classes',
    summary: 'A gym’s classes, by id',
    access: { roles: MEMBERS, scope: 'gym:read', gym: 'query' },
    query: ClassesQuery,
    response: { description: 'A page of classes', contentType: JSON_TYPE, schema: pageSchema(ClassSchema, 'Classes') },
    problems: ['invalid_parameter', 'unavailable'],
  },
  createClass: {
    operationId: 'createClass',
    method: 'post',
    path: `${API_PREFIX}/classes`,
    tag: 'classes',
    summary: 'Adds a class to a gym’s schedule: a one-off or recurring by RRULE in the gym’s time zone',
    access: { roles: ADMINS, scope: 'gym:write', gym: 'body' },
    body: ClassBody,
    response: { description: 'The class', contentType: JSON_TYPE, schema: ClassSchema, status: 201 },
    problems: ['invalid_parameter', 'unavailable'],
  },
  getClass: {
    operationId: 'getClass',
    path: `${API_PREFIX}/classes/:id`,
    tag: 'classes',
    summary: 'A class',
    access: { roles: MEMBERS, scope: 'gym:read', gym: { resource: 'class' } },
    params: ClassPath,
    response: { description: 'The class', contentType: JSON_TYPE, schema: ClassSchema },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  patchClass: {
    operationId: 'patchClass',
    method: 'patch',
    path: `${API_PREFIX}/classes/:id`,
    tag: 'classes',
    summary: 'Changes a class; occurrences with bookings keep the capacity they had',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'class' } },
    params: ClassPath,
    body: ClassPatch,
    response: { description: 'The class', contentType: JSON_TYPE, schema: ClassSchema },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  deleteClass: {
    operationId: 'deleteClass',
    method: 'delete',
    path: `${API_PREFIX}/classes/:id`,
    tag: 'classes',
    summary: 'Removes a class with its occurrences and bookings',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'class' } },
    params: ClassPath,
    response: { description: 'Removed', contentType: JSON_TYPE, status: 204 },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  listOccurrences: {
    operationId: 'listClassOccurrences',
    path: `${API_PREFIX}/classes/:id/occurrences`,
    tag: 'classes',
    summary: 'The occurrences of a class that start in a window (at most 366 days), in UTC and gym-local time, with their bookings counted',
    access: { roles: MEMBERS, scope: 'gym:read', gym: { resource: 'class' } },
    params: ClassPath,
    query: OccurrencesQuery,
    response: {
      description: 'Occurrences by start',
      contentType: JSON_TYPE,
      schema: Type.Object({ items: Type.Array(OccurrenceSchema, { description: 'Occurrences by start' }) }),
    },
    problems: ['invalid_parameter', 'range_too_large', 'not_found', 'unavailable'],
  },
  overrideOccurrence: {
    operationId: 'overrideClassOccurrence',
    method: 'patch',
    path: occurrencePath,
    tag: 'classes',
    summary: 'Changes one occurrence only: its time, length, room, instructors or capacity',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'class' } },
    params: OccurrencePath,
    body: OverrideBody,
    response: { description: 'The occurrence', contentType: JSON_TYPE, schema: OccurrenceSchema },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  cancelOccurrence: {
    operationId: 'cancelClassOccurrence',
    method: 'post',
    path: `${occurrencePath}/cancel`,
    tag: 'classes',
    summary: 'Cancels one occurrence; its bookings are cancelled with it',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'class' } },
    params: OccurrencePath,
    response: { description: 'The occurrence', contentType: JSON_TYPE, schema: OccurrenceSchema },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  book: {
    operationId: 'bookClassOccurrence',
    method: 'post',
    path: `${occurrencePath}/bookings`,
    tag: 'bookings',
    summary: 'Books a place, or a waitlist position when the class is full',
    description:
      'An athlete books for themselves; staff may name another member of the gym. Refused with 409 when booking is not open yet, the occurrence started or is cancelled, the athlete holds a booking already, or the waitlist is full too.',
    access: { roles: MEMBERS, scope: 'me:write', gym: { resource: 'class' } },
    params: OccurrencePath,
    body: BookBody,
    response: { description: 'The booking', contentType: JSON_TYPE, schema: BookingSchema, status: 201 },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  cancelBooking: {
    operationId: 'cancelClassBooking',
    method: 'delete',
    path: `${occurrencePath}/bookings/:user`,
    tag: 'bookings',
    summary: 'Gives a place or waitlist position back; the first waitlisted takes a freed place',
    description:
      'An athlete cancels their own (`me`); staff anyone’s. Inside the class’s cancellation window an athlete’s place is refused with 409 (only staff may cancel it then).',
    access: { roles: MEMBERS, scope: 'me:write', gym: { resource: 'class' } },
    params: BookingPath,
    response: { description: 'The cancelled booking', contentType: JSON_TYPE, schema: BookingSchema },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  checkIn: {
    operationId: 'checkInClassBooking',
    method: 'post',
    path: `${occurrencePath}/bookings/:user/check-in`,
    tag: 'bookings',
    summary: 'Marks a booked athlete as attending; repeating it changes nothing',
    access: { roles: STAFF, scope: 'gym:write', gym: { resource: 'class' } },
    params: BookingPath,
    response: { description: 'The booking', contentType: JSON_TYPE, schema: BookingSchema },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'unavailable'],
  },
  roster: {
    operationId: 'classRoster',
    path: `${occurrencePath}/roster`,
    tag: 'bookings',
    summary: 'Who holds a place (checked in or not) and who waits, in order',
    access: { roles: STAFF, scope: 'gym:read', gym: { resource: 'class' } },
    params: OccurrencePath,
    response: {
      description: 'The roster',
      contentType: JSON_TYPE,
      schema: Type.Object({ occurrence: OccurrenceSchema, items: Type.Array(RosterEntrySchema, { description: 'Places by name, then the waitlist in order' }) }),
    },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  myBookings: {
    operationId: 'listMyBookings',
    path: `${API_PREFIX}/me/bookings`,
    tag: 'bookings',
    summary: 'The caller’s active bookings and waitlist positions, by start',
    access: { roles: MEMBERS, scope: 'me:read', gym: 'self' },
    query: MyBookingsQuery,
    response: { description: 'A page of bookings', contentType: JSON_TYPE, schema: pageSchema(BookingSchema, 'Bookings by start') },
    problems: ['invalid_parameter', 'unavailable'],
  },
  resetCalendarFeed: {
    operationId: 'resetMyCalendarFeed',
    method: 'post',
    path: `${API_PREFIX}/me/calendar-feed`,
    tag: 'bookings',
    summary: 'Creates the caller’s secret iCalendar feed URL, or replaces it (the old URL stops working); the URL is shown only now',
    access: { roles: MEMBERS, scope: 'me:write', gym: 'self' },
    response: {
      description: 'The feed URL',
      contentType: JSON_TYPE,
      schema: Type.Object({ url: Type.String({ description: 'Subscribe a calendar app to it; anyone holding it sees the bookings' }) }),
    },
    problems: ['unavailable'],
  },
  calendarFeed: {
    operationId: 'calendarFeed',
    path: `${API_PREFIX}/calendar/:token.ics`,
    tag: 'bookings',
    summary: 'An athlete’s bookings as iCalendar events in each gym’s time zone; the token in the URL is the credential',
    access: PUBLIC,
    params: FeedPath,
    response: { description: 'iCalendar (RFC 5545)', contentType: 'text/calendar' },
    problems: ['not_found', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
