import type { Texts } from '../texts.ts';
import type { BOARD as EN } from '../en/board.ts';

/** Russian texts of the board pages: the same keys as en/board.ts. */
export const BOARD: Texts<typeof EN> = {};
