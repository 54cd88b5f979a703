/** The operations table of the caller's own account as a whole: erasing it. */
import { Type } from '@sinclair/typebox';
import { ANY_PERSON } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';

export const EraseAccountBody = Type.Object(
  {
    confirm: Type.String({ minLength: 1, maxLength: 320, description: 'The email of my account, typed again (any case): erasure cannot be undone' }),
  },
  { additionalProperties: false },
);

export const ACCOUNT_OPERATIONS = {
  deleteMyAccount: {
    operationId: 'deleteMyAccount',
    method: 'delete',
    path: `${API_PREFIX}/me`,
    tag: 'profile',
    summary: 'Erases my account and everything of me in every store; my tokens stop working',
    description:
      'Removes my identity (password, second factor, profile, memberships, sign-in sessions), my documents (bookings: future places are given back ' +
      'and the waitlist moves up; sensors I paired and their readings; sessions and their samples; friends; group memberships; calendar feed; ' +
      'profile photo), and replaces my id by "deleted-user" in what stays of other people and of the gym (audit entries, bookings or bindings I made ' +
      'for others, class runs I started, trainings and groups I created, webhook delivery bodies). Refused with 409 while I am the last admin of a gym.',
    access: { roles: ANY_PERSON, scope: 'me:write', gym: 'self' },
    body: EraseAccountBody,
    response: { description: 'Erased', contentType: JSON_TYPE, status: 204 },
    problems: ['invalid_parameter', 'conflict', 'not_found', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
