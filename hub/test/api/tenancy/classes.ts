/** Tenancy cases of classes-operations.ts. */
import type { CLASSES_OPERATIONS } from '../../../src/api/classes-operations.ts';
import { BOOKINGS, CALENDAR_FEEDS, CLASSES, OCCURRENCES } from '../../../src/domain/classes/collections.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';

// Weekly on Mondays 07:00 in the gyms' zone (Europe/Berlin, seeded by gyms.ts): 05:00 UTC in May 2024.
const OCCURRENCE = '2024-05-06T05:00:00Z';
const START = Date.parse(OCCURRENCE);
const A_OCCURRENCE = `/api/v1/classes/class-of-a/occurrences/${OCCURRENCE}`;

export const classesTenancy: FeatureTenancy<keyof typeof CLASSES_OPERATIONS> = {
  cases: {
    listClasses: {
      attempts: [
        { path: `/api/v1/classes?gym=${GYM_A}`, targetsA: true },
        { path: '/api/v1/classes', targetsA: false },
      ],
    },
    createClass: {
      attempts: [
        {
          method: 'POST',
          path: '/api/v1/classes',
          body: {
            gym: GYM_A,
            name: 'Intruder',
            description: '',
            room: '',
            instructors: [],
            capacity: 5,
            start: '2024-06-01T07:00',
            durationMinutes: 45,
            bookingOpensDays: 7,
            cancellationWindowMinutes: 60,
            waitlistLimit: 5,
          },
          targetsA: true,
        },
      ],
    },
    getClass: { attempts: [{ path: '/api/v1/classes/class-of-a', targetsA: true }] },
    patchClass: { attempts: [{ method: 'PATCH', path: '/api/v1/classes/class-of-a', body: { name: 'Taken over' }, targetsA: true }] },
    deleteClass: { attempts: [{ method: 'DELETE', path: '/api/v1/classes/class-of-a', targetsA: true }] },
    listOccurrences: { attempts: [{ path: '/api/v1/classes/class-of-a/occurrences?from=2024-05-01T00:00:00Z&to=2024-06-01T00:00:00Z', targetsA: true }] },
    overrideOccurrence: { attempts: [{ method: 'PATCH', path: A_OCCURRENCE, body: { room: 'Elsewhere' }, targetsA: true }] },
    cancelOccurrence: { attempts: [{ method: 'POST', path: `${A_OCCURRENCE}/cancel`, targetsA: true }] },
    book: {
      attempts: [
        { method: 'POST', path: `${A_OCCURRENCE}/bookings`, body: {}, targetsA: true },
        { method: 'POST', path: `${A_OCCURRENCE}/bookings`, body: { user: 'USER_A_ATHLETE' }, targetsA: true },
      ],
    },
    cancelBooking: {
      attempts: [
        { method: 'DELETE', path: `${A_OCCURRENCE}/bookings/USER_A_ATHLETE`, targetsA: true },
        { method: 'DELETE', path: `${A_OCCURRENCE}/bookings/me`, targetsA: true },
      ],
    },
    checkIn: { attempts: [{ method: 'POST', path: `${A_OCCURRENCE}/bookings/USER_A_ATHLETE/check-in`, targetsA: true }] },
    roster: { attempts: [{ path: `${A_OCCURRENCE}/roster`, targetsA: true }] },
    myBookings: { attempts: [{ path: '/api/v1/me/bookings', targetsA: false }] },
    resetCalendarFeed: { attempts: [{ method: 'POST', path: '/api/v1/me/calendar-feed', targetsA: false }] },
    calendarFeed: { public: true },
  },
  async seed({ domain, accounts }) {
    const at = Date.UTC(2024, 0, 1);
    for (const [gym, id, name] of [
      [GYM_A, 'class-of-a', 'Spin of A'],
      [GYM_B, 'class-of-b', 'Rowing of B'],
    ] as const) {
      await domain.documents.collection(CLASSES).insert({
        id,
        gym,
        name,
        description: `${name}, hard`,
        room: `${name} room`,
        instructors: [accounts[gym].coach],
        capacity: 10,
        start: '2024-05-06T07:00',
        durationMinutes: 45,
        rrule: 'FREQ=WEEKLY;BYDAY=MO',
        bookingOpensDays: 14,
        cancellationWindowMinutes: 120,
        waitlistLimit: 5,
        createdAt: at,
        updatedAt: at,
      });
      const occurrence = `${id}@${START}`;
      await domain.documents.collection(OCCURRENCES).insert({ id: occurrence, gym, class: id, start: START, capacity: 10, booked: 1, waitlisted: 0, waitSeq: 0, cancelled: false });
      await domain.documents.collection(BOOKINGS).insert({
        id: `booking-${id}`,
        gym,
        class: id,
        occurrence,
        start: START,
        user: accounts[gym].athlete,
        status: 'booked',
        active: true,
        position: 0,
        bookedBy: accounts[gym].athlete,
        createdAt: at,
      });
      await domain.documents.collection(CALENDAR_FEEDS).insert({ id: `feed-hash-of-${gym}`, user: accounts[gym].athlete, createdAt: at });
    }
    return ['class-of-a', 'Spin of A', 'booking-class-of-a'];
  },
  async stateOfA({ domain, accounts }) {
    return {
      classes: await domain.documents.collection(CLASSES).find({ gym: GYM_A }),
      occurrences: await domain.documents.collection(OCCURRENCES).find({ gym: GYM_A }),
      bookings: await domain.documents.collection(BOOKINGS).find({ gym: GYM_A }),
      feeds: await domain.documents.collection(CALENDAR_FEEDS).find({ user: accounts[GYM_A].athlete }),
    };
  },
};
