import type { Texts } from '../texts.ts';
import type { ADMIN as EN } from '../en/admin.ts';

/** Russian texts of the admin pages: the same keys as en/admin.ts. */
export const ADMIN: Texts<typeof EN> = {};
