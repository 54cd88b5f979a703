/** English texts of the board pages. Keys are what the code names; ru/board.ts must have every key (checked by type). */
export const BOARD = {} as const;
