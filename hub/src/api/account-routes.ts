/** Handlers of account-operations.ts. */
import { DELETED_USER, eraseAccount, soleAdminGyms } from '../domain/account/erase.ts';
import { DOMAIN_COLLECTIONS } from '../domain/collections.ts';
import type { Domain } from '../domain/domain.ts';
import type { Mailer } from '../identity/one-time-links.ts';
import { ACCOUNT_OPERATIONS } from './account-operations.ts';
import type { TokenVerifier } from './auth.ts';
import { ApiError, invalidParameter } from './problem.ts';
import type { RouteModule } from './route-module.ts';
import { principalOf } from './self.ts';

export interface AccountRouteOptions {
  /** Told to forget the erased user, so their tokens are refused at once (ApiDeps.verifier). */
  verifier?: Pick<TokenVerifier, 'forgetUser'>;
  /** A mailer that keeps mail (the demo's folder) forgets theirs (ApiDeps.mailer). */
  mailer?: Pick<Mailer, 'forget'>;
}

export function accountRoutes(domain: Domain, options: AccountRouteOptions = {}): RouteModule<typeof ACCOUNT_OPERATIONS> {
  const { identity } = domain;
  return {
    handlers: {
      deleteMyAccount: async (ctx, { body }) => {
        const userId = principalOf(ctx).subject;
        const user = await identity.getUser(userId);
        if (user === undefined) throw new ApiError('not_found', 'your account no longer exists');
        if (body.confirm.trim().toLowerCase() !== user.email.toLowerCase()) throw invalidParameter('confirm', 'is not the email of your account');
        const sole = await soleAdminGyms(identity, userId);
        if (sole.length > 0) throw new ApiError('conflict', `you are the last admin of ${sole.join(', ')}: give the role to someone else first`);
        const gyms = [...new Set((await identity.listMembershipsOfUser(userId)).map((m) => m.gym))];
        await eraseAccount(domain, DOMAIN_COLLECTIONS, userId, options.mailer === undefined ? {} : { mailer: options.mailer });
        options.verifier?.forgetUser?.(userId);
        // The gyms' audit trails say that one of their members left, not who.
        for (const gym of gyms) await identity.appendAudit({ type: 'account.erased', actorUserId: DELETED_USER, gym });
        ctx.status = 204;
      },
    },
  };
}
