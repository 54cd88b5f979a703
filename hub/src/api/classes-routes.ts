/** Handlers of classes-operations.ts. */
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { gymsWithRoles } from '../auth/principal.ts';
import type { Domain } from '../domain/domain.ts';
import { gymSettings } from '../domain/gyms.ts';
import { BookingRefused, book, cancelBooking, promote, waitlistPosition, type BookingDoc } from '../domain/classes/bookings.ts';
import { calendarOf, feedOwner, resetCalendarFeed } from '../domain/classes/calendar.ts';
import { BOOKINGS, CLASSES, OCCURRENCES } from '../domain/classes/collections.ts';
import { ensureOccurrence, findOccurrence, listOccurrences, MAX_OVERRIDE_SHIFT_MS, occurrenceId, type ClassDoc, type OccurrenceView } from '../domain/classes/occurrences.ts';
import { DAY_MS, formatLocalDateTime, instantOf, localOf, MAX_WINDOW_MS, MINUTE_MS, parseLocalDateTime, ruleProblems } from '../domain/classes/recurrence.ts';
import { buildRoster, type RosterEntry } from '../domain/classes/roster.ts';
import { TRAININGS } from '../domain/trainings/collections.ts';
import { STAFF } from './access.ts';
import { CLASSES_OPERATIONS, type BookingSchema, type ClassSchema, type OccurrenceSchema, type RosterEntrySchema } from './classes-operations.ts';
import type { ApiContext } from './context.ts';
import { API_PREFIX } from './operation.ts';
import { listPage } from './pages.ts';
import { ApiError, invalidParameter } from './problem.ts';
import type { RouteModule } from './route-module.ts';
import { isoTime, principalOf, resourceGym } from './self.ts';

type ClassBody = Static<typeof ClassSchema>;
type OccurrenceBody = Static<typeof OccurrenceSchema>;
type BookingBody = Static<typeof BookingSchema>;
type RosterItem = Static<typeof RosterEntrySchema>;
type ClassFields = Omit<ClassDoc, 'id' | 'gym' | 'createdAt' | 'updatedAt'>;

// Occurrence starts also name paths: zero milliseconds are left out. Record times use isoTime, as every answer does.
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function toRosterItem({ bookedAt, checkedInAt, ...entry }: RosterEntry): RosterItem {
  return { ...entry, bookedAt: isoTime(bookedAt), ...(checkedInAt === undefined ? {} : { checkedInAt: isoTime(checkedInAt) }) };
}

function isStaff(ctx: ApiContext, gym: string): boolean {
  const gyms = gymsWithRoles(principalOf(ctx), STAFF);
  return gyms === 'all' || gyms.has(gym);
}

function refusal(err: unknown): unknown {
  return err instanceof BookingRefused ? new ApiError(err.code, err.message) : err;
}

export function classesRoutes(domain: Domain): RouteModule<typeof CLASSES_OPERATIONS> {
  const { documents, identity, now } = domain;
  const classes = documents.collection(CLASSES);

  const toClass = (doc: ClassDoc, timeZone: string): ClassBody => ({ ...doc, timeZone, createdAt: isoTime(doc.createdAt), updatedAt: isoTime(doc.updatedAt) });

  function toOccurrence(cls: ClassDoc, view: OccurrenceView, timeZone: string): OccurrenceBody {
    return {
      class: cls.id,
      start: iso(view.start),
      startsAt: iso(view.startsAt),
      endsAt: iso(view.endsAt),
      localStart: formatLocalDateTime(localOf(view.startsAt, timeZone)),
      localEnd: formatLocalDateTime(localOf(view.endsAt, timeZone)),
      timeZone,
      name: cls.name,
      room: view.room,
      instructors: view.instructors,
      capacity: view.capacity,
      booked: view.booked,
      waitlisted: view.waitlisted,
      cancelled: view.cancelled,
      overridden: view.overridden,
    };
  }

  async function toBooking(booking: BookingDoc): Promise<BookingBody> {
    const cls = await classes.get(booking.class);
    const occurrence = await documents.collection(OCCURRENCES).get(booking.occurrence);
    const body: BookingBody = {
      id: booking.id,
      class: booking.class,
      className: cls?.name ?? '',
      gym: booking.gym,
      start: iso(booking.start),
      startsAt: iso(occurrence?.startsAt ?? booking.start),
      user: booking.user,
      status: booking.status,
      checkedIn: booking.checkedInAt !== undefined,
      createdAt: isoTime(booking.createdAt),
    };
    const position = await waitlistPosition(documents, booking);
    if (position !== undefined) body.position = position;
    return body;
  }

  async function classOf(ctx: ApiContext, id: string): Promise<ClassDoc> {
    const cls = await classes.get(id);
    if (cls === undefined || cls.gym !== resourceGym(ctx)) throw new ApiError('not_found', `no class ${id}`);
    return cls;
  }

  async function occurrenceOf(ctx: ApiContext, params: { id: string; start: string }) {
    const cls = await classOf(ctx, params.id);
    const { timeZone } = await gymSettings(documents, cls.gym);
    const start = Date.parse(params.start);
    const view = await findOccurrence(documents, cls, timeZone, start);
    if (view === undefined) throw new ApiError('not_found', `class ${cls.id} has no occurrence starting at ${params.start}`);
    return { cls, timeZone, start, view };
  }

  /** Instructors must lead in this gym: coaches or admins of it. */
  async function checkInstructors(gym: string, instructors: readonly string[], param: string): Promise<void> {
    if (instructors.length === 0) return;
    const staff = new Set((await identity.listMembershipsOfGym(gym)).filter((m) => STAFF.includes(m.role)).map((m) => m.userId));
    const outsider = instructors.find((user) => !staff.has(user));
    if (outsider !== undefined) throw invalidParameter(param, `${outsider} is no coach or admin of ${gym}`);
  }

  async function checkClass(gym: string, fields: ClassFields): Promise<void> {
    const start = parseLocalDateTime(fields.start);
    if (start === undefined) throw invalidParameter('start', 'is not a calendar date and time');
    if (fields.rrule !== undefined) {
      const problems = ruleProblems(fields.rrule, start, 'rrule');
      if (problems.length > 0) throw new ApiError('invalid_parameter', problems.join('; '), { param: 'rrule' });
    }
    await checkInstructors(gym, fields.instructors, 'instructors');
    if (fields.training !== undefined) {
      const training = await documents.collection(TRAININGS).get(fields.training);
      if (training === undefined || training.gym !== gym) throw invalidParameter('training', `no training ${fields.training} in ${gym}`);
    }
  }

  /** The athlete a booking path or body names: the caller, or (for staff only) another member of the gym. */
  async function athleteOf(ctx: ApiContext, gym: string, named: string | undefined): Promise<{ user: string; staff: boolean }> {
    const caller = principalOf(ctx).subject;
    const staff = isStaff(ctx, gym);
    if (named === undefined || named === 'me' || named === caller) return { user: caller, staff };
    if (!staff) throw new ApiError('forbidden', 'only the gym’s staff may book or cancel for another athlete');
    if (!(await identity.listMembershipsOfUser(named)).some((m) => m.gym === gym)) throw new ApiError('not_found', `${named} is no member of ${gym}`);
    return { user: named, staff };
  }

  return {
    handlers: {
      listClasses: async (ctx, { query }) => {
        const gym = query.gym;
        if (gym === undefined) throw invalidParameter('gym', 'name the gym (a platform admin sees every gym)');
        const { timeZone } = await gymSettings(documents, gym);
        await listPage(ctx, {
          collection: classes,
          where: { gym },
          query,
          path: `${API_PREFIX}/classes`,
          params: { gym },
          toItem: (doc) => toClass(doc, timeZone),
        });
      },
      createClass: async (ctx, { body }) => {
        // The gate settled the gym (the caller's only one when the body names none).
        const { gym, ...fields } = body;
        if (gym === undefined) throw invalidParameter('gym', 'is required');
        await checkClass(gym, fields);
        const at = now();
        const doc: ClassDoc = { id: randomUUID(), gym, ...fields, createdAt: at, updatedAt: at };
        await classes.insert(doc);
        ctx.status = 201;
        ctx.body = toClass(doc, (await gymSettings(documents, gym)).timeZone);
      },
      getClass: async (ctx, { params }) => {
        const cls = await classOf(ctx, params.id);
        ctx.body = toClass(cls, (await gymSettings(documents, cls.gym)).timeZone);
      },
      patchClass: async (ctx, { params, body }) => {
        const cls = await classOf(ctx, params.id);
        const doc: ClassDoc = { ...cls, ...body, updatedAt: now() };
        await checkClass(cls.gym, doc);
        await classes.replace(doc);
        ctx.body = toClass(doc, (await gymSettings(documents, cls.gym)).timeZone);
      },
      deleteClass: async (ctx, { params }) => {
        const cls = await classOf(ctx, params.id);
        await documents.transaction(async (tx) => {
          await tx.collection(BOOKINGS).delete({ class: cls.id });
          await tx.collection(OCCURRENCES).delete({ class: cls.id });
          await tx.collection(CLASSES).delete({ id: cls.id });
        });
        ctx.status = 204;
      },
      listOccurrences: async (ctx, { params, query }) => {
        const cls = await classOf(ctx, params.id);
        const [from, to] = [Date.parse(query.from), Date.parse(query.to)];
        if (!(to > from)) throw invalidParameter('to', 'must lie after from');
        if (to - from > MAX_WINDOW_MS) throw new ApiError('range_too_large', `a window covers at most ${MAX_WINDOW_MS / DAY_MS} days`, { param: 'to' });
        const { timeZone } = await gymSettings(documents, cls.gym);
        const views = await listOccurrences(documents, cls, timeZone, from, to);
        ctx.body = { items: views.map((view) => toOccurrence(cls, view, timeZone)) };
      },
      overrideOccurrence: async (ctx, { params, body }) => {
        const { cls, timeZone, start, view } = await occurrenceOf(ctx, params);
        const set: Partial<Static<typeof OCCURRENCES.schema>> = {};
        if (body.start !== undefined) {
          const local = parseLocalDateTime(body.start);
          if (local === undefined) throw invalidParameter('start', 'is not a calendar date and time');
          const startsAt = instantOf(local, timeZone);
          if (Math.abs(startsAt - start) > MAX_OVERRIDE_SHIFT_MS) throw invalidParameter('start', 'may move an occurrence by at most 7 days');
          set.startsAt = startsAt;
        }
        if (body.instructors !== undefined) {
          await checkInstructors(cls.gym, body.instructors, 'instructors');
          set.instructors = body.instructors;
        }
        if (body.durationMinutes !== undefined) set.durationMinutes = body.durationMinutes;
        if (body.room !== undefined) set.room = body.room;
        if (body.capacity !== undefined) {
          if (body.capacity < view.booked) throw new ApiError('conflict', `${view.booked} places are taken: cancel bookings before lowering the capacity under that`);
          set.capacity = body.capacity;
        }
        await ensureOccurrence(documents, cls, start);
        const id = occurrenceId(cls.id, start);
        await documents.transaction(async (tx) => {
          await tx.collection(OCCURRENCES).update({ id }, { set });
          await promote(tx, id);
        });
        ctx.body = toOccurrence(cls, (await findOccurrence(documents, cls, timeZone, start))!, timeZone);
      },
      cancelOccurrence: async (ctx, { params }) => {
        const { cls, timeZone, start } = await occurrenceOf(ctx, params);
        await ensureOccurrence(documents, cls, start);
        const id = occurrenceId(cls.id, start);
        const at = now();
        await documents.transaction(async (tx) => {
          await tx.collection(OCCURRENCES).update({ id }, { set: { cancelled: true, booked: 0, waitlisted: 0 } });
          await tx.collection(BOOKINGS).update({ occurrence: id, active: true }, { set: { active: false, status: 'cancelled', cancelledAt: at } });
        });
        ctx.body = toOccurrence(cls, (await findOccurrence(documents, cls, timeZone, start))!, timeZone);
      },
      book: async (ctx, { params, body }) => {
        const gym = resourceGym(ctx);
        const { user } = await athleteOf(ctx, gym, body.user);
        const request = { gym, classId: params.id, start: Date.parse(params.start), user, bookedBy: principalOf(ctx).subject, now: now() };
        const attempt = () =>
          book(documents, request).catch((err: unknown) => {
            throw refusal(err);
          });
        let outcome = await attempt();
        if (outcome === 'no_occurrence') {
          // The first booking of this occurrence: is it one of the class's, then its document.
          const { cls, start } = await occurrenceOf(ctx, params);
          await ensureOccurrence(documents, cls, start);
          outcome = await attempt();
          if (outcome === 'no_occurrence') throw new ApiError('not_found', 'the class changed meanwhile: no such occurrence');
        }
        const { booking, className, startsAt, position } = outcome;
        await domain.events?.emit(gym, 'booking.created', { booking: booking.id, class: booking.class, start: iso(booking.start), user: booking.user, status: booking.status });
        ctx.status = 201;
        ctx.body = {
          id: booking.id,
          class: booking.class,
          className,
          gym: booking.gym,
          start: iso(booking.start),
          startsAt: iso(startsAt),
          user: booking.user,
          status: booking.status,
          checkedIn: false,
          createdAt: isoTime(booking.createdAt),
          ...(position === undefined ? {} : { position }),
        } satisfies BookingBody;
      },
      cancelBooking: async (ctx, { params }) => {
        const { cls, start, view } = await occurrenceOf(ctx, params);
        const { user, staff } = await athleteOf(ctx, cls.gym, params.user);
        const { cancelled } = await cancelBooking(documents, {
          occurrence: occurrenceId(cls.id, start),
          user,
          startsAt: view.startsAt,
          windowMs: cls.cancellationWindowMinutes * MINUTE_MS,
          staff,
          now: now(),
        }).catch((err: unknown) => {
          throw refusal(err);
        });
        await domain.events?.emit(cls.gym, 'booking.cancelled', { booking: cancelled.id, class: cancelled.class, start: iso(cancelled.start), user: cancelled.user });
        ctx.body = await toBooking(cancelled);
      },
      checkIn: async (ctx, { params }) => {
        const { cls, start } = await occurrenceOf(ctx, params);
        const { user } = await athleteOf(ctx, cls.gym, params.user);
        const bookings = documents.collection(BOOKINGS);
        const booking = await bookings.findOne({ occurrence: occurrenceId(cls.id, start), user, active: true });
        if (booking === undefined) throw new ApiError('not_found', `${user} holds no booking in this occurrence`);
        if (booking.status !== 'booked') throw new ApiError('conflict', `${user} is on the waitlist, not booked: book them a place first`);
        const checkedIn = booking.checkedInAt === undefined ? { ...booking, checkedInAt: now() } : booking;
        if (booking.checkedInAt === undefined) await bookings.update({ id: booking.id }, { set: { checkedInAt: checkedIn.checkedInAt! } });
        ctx.body = await toBooking(checkedIn);
      },
      roster: async (ctx, { params }) => {
        const { cls, timeZone, view } = await occurrenceOf(ctx, params);
        ctx.body = { occurrence: toOccurrence(cls, view, timeZone), items: (await buildRoster(domain, cls.gym, view.id)).map(toRosterItem) };
      },
      myBookings: async (ctx, { query }) => {
        const user = principalOf(ctx).subject;
        const page = await listPage(ctx, {
          collection: documents.collection(BOOKINGS),
          where: { user, active: true },
          orderBy: ['start'],
          query,
          path: `${API_PREFIX}/me/bookings`,
          params: {},
          toItem: (doc) => doc,
        });
        ctx.body = { ...page, items: await Promise.all(page.items.map(toBooking)) };
      },
      resetCalendarFeed: async (ctx) => {
        const token = await resetCalendarFeed(documents, principalOf(ctx).subject, now());
        ctx.body = { url: `${ctx.protocol}://${ctx.host}${API_PREFIX}/calendar/${token}.ics` };
      },
      calendarFeed: async (ctx, { params }) => {
        const user = await feedOwner(documents, params.token);
        // An unknown token and a replaced one answer alike: the URL reveals nothing about feeds that were.
        if (user === undefined) throw new ApiError('not_found', 'no such calendar feed');
        ctx.set('Cache-Control', 'private, max-age=300');
        ctx.type = 'text/calendar; charset=utf-8';
        ctx.body = await calendarOf(documents, user, now());
      },
    },
  };
}
