/** The operations table of class schedules (RRULEs in the gym's time zone), occurrences, bookings with a waitlist, check-in, iCalendar feeds. */
import type { Operation } from './operation.ts';

export const CLASSES_OPERATIONS = {} as const satisfies Record<string, Operation>;
