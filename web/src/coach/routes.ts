/** The coach's pages, for coaches and gym admins: today's classes, and one occurrence reached from there. */
import type { PageRoute } from '../lib/routes.ts';
import { OccurrencePage } from './occurrence-page.tsx';
import { TodayPage } from './today-page.tsx';

export const COACH_ROUTES: PageRoute[] = [
  { path: '/coach', roles: ['coach', 'gym_admin'], title: 'coachTodayTitle', nav: true, component: TodayPage },
  { path: '/coach/classes/:id/:start', roles: ['coach', 'gym_admin'], title: 'coachOccurrenceTitle', nav: false, component: OccurrencePage },
];
