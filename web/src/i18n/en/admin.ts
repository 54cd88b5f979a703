/** English texts of the admin pages. Keys are what the code names; ru/admin.ts must have every key (checked by type). */
export const ADMIN = {} as const;
