/** English texts of the coach pages. Keys are what the code names; ru/coach.ts must have every key (checked by type). */
export const COACH = {} as const;
