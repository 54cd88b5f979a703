import type { Texts } from '../texts.ts';
import type { ME as EN } from '../en/me.ts';

/** Russian texts of the me pages: the same keys as en/me.ts. */
export const ME: Texts<typeof EN> = {};
