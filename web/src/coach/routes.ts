import type { PageRoute } from '../lib/routes.ts';

export const COACH_ROUTES: PageRoute[] = [];
