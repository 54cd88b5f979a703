/** English texts of the me pages. Keys are what the code names; ru/me.ts must have every key (checked by type). */
export const ME = {} as const;
