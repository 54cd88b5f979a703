/**
 * Gym invites: a gym admin invites a person as an athlete or a coach. The invite is a one-time link to the
 * sign-up page (hub/src/oidc/account-pages.ts), returned to the admin and mailed to the person. The link is
 * never logged: the response carries it, the log only says an invite was made.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { errorMessage } from '@pulsebridge/runtime';
import { IdentityStoreError, type IdentityStore } from '../identity/identity-store.ts';
import { INVITED_ROLES, createInvite, type Mailer } from '../identity/one-time-links.ts';
import { SIGN_UP_PATH } from '../oidc/account-pages.ts';
import type { ApiContext } from './context.ts';
import { ApiError, invalidParameter } from './problem.ts';

export const InviteBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320, description: 'Where the invite goes; the account signs in with it' }),
    gym: Type.String({ minLength: 1, maxLength: 128, description: 'The gym the person joins; yours if you administer one gym' }),
    role: Type.Union(
      INVITED_ROLES.map((role) => Type.Literal(role)),
      { description: 'The role in that gym' },
    ),
  },
  { additionalProperties: false },
);
export type InviteBody = Static<typeof InviteBody>;

export const InviteCreated = Type.Object({
  inviteUrl: Type.String({ description: 'The single-use sign-up link; give it only to the invited person' }),
  expiresAt: Type.String({ format: 'date-time' }),
  mailed: Type.Boolean({ description: 'Whether the link was mailed; when false, pass it on yourself' }),
});

export const DEFAULT_INVITE_TTL_MS = 7 * 24 * 3_600_000;

export interface InviteRoutesOptions {
  identity: IdentityStore | undefined;
  mailer: Mailer | undefined;
  /** The hub's public base URL (identity.issuer), for the link. */
  publicBaseUrl: string | undefined;
  ttlMs: number;
  now: () => number;
  log: Logger;
}

export function inviteRoutes(options: InviteRoutesOptions) {
  const { identity, mailer, publicBaseUrl, log } = options;
  return {
    createInvite: async (ctx: ApiContext, input: { body: InviteBody }): Promise<void> => {
      if (!identity || publicBaseUrl === undefined) throw new ApiError('unavailable', 'this hub has no identity store, so no invites');
      const { email, gym, role } = input.body;
      const now = options.now();
      const invitedBy = ctx.state.principal?.subject ?? 'unknown';
      let token: string;
      try {
        token = await createInvite(identity, { email, gym, role, invitedBy, ttlMs: options.ttlMs, now });
      } catch (error) {
        if (error instanceof IdentityStoreError && error.code === 'invalid_input') throw invalidParameter(error.param ?? 'body', error.message);
        if (error instanceof IdentityStoreError && (error.code === 'unavailable' || error.code === 'not_started')) {
          throw new ApiError('unavailable', 'the identity store is unavailable; retry later', { headers: { 'Retry-After': '5' } });
        }
        throw error;
      }
      const inviteUrl = `${publicBaseUrl.replace(/\/+$/, '')}${SIGN_UP_PATH}?token=${token}`;
      let mailed = false;
      if (mailer) {
        try {
          await mailer.send({
            to: email,
            subject: 'You are invited to Pulsebridge',
            text: [
              'Hello,',
              '',
              `You are invited to join gym ${gym} on Pulsebridge as ${role === 'coach' ? 'a coach' : 'an athlete'}. To create your account, open this link:`,
              '',
              inviteUrl,
              '',
              `The link works once, until ${new Date(now + options.ttlMs).toUTCString()}. If you did not expect it, ignore this mail.`,
            ].join('\n'),
          });
          mailed = true;
        } catch (error) {
          // The admin still gets the link in the answer and can pass it on.
          log.warn({ reqId: ctx.state.requestId, err: errorMessage(error) }, 'the invite mail could not be sent');
        }
      }
      ctx.status = 201;
      ctx.body = { inviteUrl, expiresAt: new Date(now + options.ttlMs).toISOString(), mailed };
    },
  };
}
