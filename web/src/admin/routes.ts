import type { PageRoute } from '../lib/routes.ts';

export const ADMIN_ROUTES: PageRoute[] = [];
