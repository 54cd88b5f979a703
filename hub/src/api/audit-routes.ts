/** The audit log of security events, read by admins: a gym admin sees their gym's events, a platform admin any. */
import { IdentityStoreError, type IdentityStore } from '../identity/identity-store.ts';
import { DEFAULT_AUDIT_LIMIT, type AuditPageBody, type AuditQuery } from './audit-schemas.ts';
import type { ApiContext } from './context.ts';
import { API_PREFIX } from './operations.ts';
import { ApiError, invalidParameter } from './problem.ts';

export function auditRoutes(identity: IdentityStore | undefined) {
  return {
    listAudit: async (ctx: ApiContext, input: { query: AuditQuery }): Promise<void> => {
      if (!identity) throw new ApiError('unavailable', 'this hub has no identity store, so no audit log');
      const { gym, userId, cursor } = input.query;
      const limit = input.query.limit ?? DEFAULT_AUDIT_LIMIT;
      let page;
      try {
        page = await identity.listAudit({ gym, userId, limit, cursor });
      } catch (error) {
        if (error instanceof IdentityStoreError && error.code === 'invalid_input') throw invalidParameter(error.param ?? 'query', error.message);
        if (error instanceof IdentityStoreError && (error.code === 'unavailable' || error.code === 'not_started')) {
          throw new ApiError('unavailable', 'the identity store is unavailable; retry later', { headers: { 'Retry-After': '5' } });
        }
        throw error;
      }
      const body: AuditPageBody = {
        events: page.events.map((event) => ({
          id: event.id,
          at: new Date(event.at).toISOString(),
          type: event.type,
          ...(event.actorUserId === undefined ? {} : { actorUserId: event.actorUserId }),
          ...(event.gym === undefined ? {} : { gym: event.gym }),
          detail: event.detail,
        })),
      };
      if (page.nextCursor !== undefined) {
        const params = new URLSearchParams();
        // The gym the gate settled, so that the next page stays in it even when the caller named none.
        if (gym !== undefined) params.set('gym', gym);
        if (userId !== undefined) params.set('userId', userId);
        if (input.query.limit !== undefined) params.set('limit', String(limit));
        params.set('cursor', page.nextCursor);
        body.nextCursor = page.nextCursor;
        body.next = `${API_PREFIX}/audit?${params.toString()}`;
        ctx.set('Link', `<${body.next}>; rel="next"`);
      }
      ctx.body = body;
    },
  };
}
