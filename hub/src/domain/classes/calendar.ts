/**
 * Per-athlete iCalendar feeds: a secret URL (the token is the credential, 256 random bits) that calendar apps
 * poll without signing in. Only the token's SHA-256 is stored, so a leaked database gives no working URL;
 * resetting replaces the hash, and the old URL answers like one that never existed.
 */
import { createHash, randomBytes } from 'node:crypto';
import ical from 'ical-generator';
import { DateTime } from 'luxon';
import type { DocumentStore } from '../../documents/document-store.ts';
import { gymSettings } from '../gyms.ts';
import { BOOKINGS, CALENDAR_FEEDS, CLASSES, OCCURRENCES } from './collections.ts';
import { viewOf } from './occurrences.ts';

export const FEED_TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** How far back the feed reaches; calendar apps keep what they saw before. */
const FEED_PAST_MS = 30 * 86_400_000;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** Creates the user's feed token, replacing any previous one; returns the token (shown once). */
export async function resetCalendarFeed(documents: DocumentStore, user: string, now: number): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await documents.transaction(async (tx) => {
    const feeds = tx.collection(CALENDAR_FEEDS);
    await feeds.delete({ user });
    await feeds.insert({ id: hashOf(token), user, createdAt: now });
  });
  return token;
}

/** The user a feed token belongs to; undefined for an unknown or replaced one. */
export async function feedOwner(documents: DocumentStore, token: string): Promise<string | undefined> {
  if (!FEED_TOKEN.test(token)) return undefined;
  return (await documents.collection(CALENDAR_FEEDS).get(hashOf(token)))?.user;
}

/** The user's active bookings from a month ago on, as an iCalendar document with each event in its gym's zone. */
export async function calendarOf(documents: DocumentStore, user: string, now: number): Promise<string> {
  const calendar = ical({ name: 'Pulsebridge classes', prodId: { company: 'Pulsebridge', product: 'hub' } });
  const bookings = await documents.collection(BOOKINGS).find({ user, active: true, start: { gte: now - FEED_PAST_MS } }, { orderBy: ['start'] });
  const zones = new Map<string, string>();
  for (const booking of bookings) {
    const cls = await documents.collection(CLASSES).get(booking.class);
    const doc = await documents.collection(OCCURRENCES).get(booking.occurrence);
    if (cls === undefined || doc?.cancelled === true) continue;
    let zone = zones.get(cls.gym);
    if (zone === undefined) {
      zone = (await gymSettings(documents, cls.gym)).timeZone;
      zones.set(cls.gym, zone);
    }
    const view = viewOf(cls, booking.start, doc);
    calendar.createEvent({
      id: `${booking.id}@pulsebridge`,
      start: DateTime.fromMillis(view.startsAt, { zone }),
      end: DateTime.fromMillis(view.endsAt, { zone }),
      timezone: zone,
      stamp: new Date(booking.createdAt),
      summary: booking.status === 'waitlisted' ? `${cls.name} (waitlist)` : cls.name,
      description: cls.description,
      location: view.room,
    });
  }
  return calendar.toString();
}
