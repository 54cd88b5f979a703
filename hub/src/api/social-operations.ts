/** The operations table of groups (clubs and teams) with members and roles, friend requests, and who may see an athlete's results. */
import type { Operation } from './operation.ts';

export const SOCIAL_OPERATIONS = {} as const satisfies Record<string, Operation>;
