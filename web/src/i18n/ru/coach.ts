import type { Texts } from '../texts.ts';
import type { COACH as EN } from '../en/coach.ts';

/** Russian texts of the coach pages: the same keys as en/coach.ts. */
export const COACH: Texts<typeof EN> = {};
