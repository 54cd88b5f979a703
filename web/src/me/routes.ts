import type { PageRoute } from '../lib/routes.ts';

export const ME_ROUTES: PageRoute[] = [];
