/** Handlers of gyms-operations.ts. */
import type { Static } from '@sinclair/typebox';
import { gymsWithRoles } from '../auth/principal.ts';
import { GYMS, gymSettings, isLastAdmin, isTimeZone, type GymSettings } from '../domain/gyms.ts';
import type { Domain } from '../domain/domain.ts';
import type { Membership } from '../identity/identity-store.ts';
import { MEMBERS } from './access.ts';
import type { ApiContext } from './context.ts';
import { GYMS_OPERATIONS, type Gym, type Member } from './gyms-operations.ts';
import { API_PREFIX } from './operation.ts';
import { decodePageCursor, DEFAULT_PAGE_LIMIT, encodePageCursor, type PageBody } from './pages.ts';
import { ApiError, invalidParameter } from './problem.ts';
import { auditChange, principalOf } from './self.ts';
import type { RouteModule } from './route-module.ts';

type GymBody = Static<typeof Gym>;
type MemberBody = Static<typeof Member>;

const toGym = (settings: GymSettings, roles?: string[]): GymBody => ({ ...settings, ...(roles === undefined ? {} : { roles }) });

export function gymsRoutes(domain: Domain): RouteModule<typeof GYMS_OPERATIONS> {
  const { documents, identity, now } = domain;

  async function memberOf(gym: string, userId: string): Promise<MemberBody | undefined> {
    const user = await identity.getUser(userId);
    if (user === undefined) return undefined;
    const roles = (await identity.listMembershipsOfUser(userId)).filter((m) => m.gym === gym).map((m) => m.role);
    return { userId, displayName: user.displayName, email: user.email, roles: roles.sort() };
  }

  const audit = (ctx: ApiContext, type: string, gym: string, detail: Record<string, unknown>) => auditChange(ctx, identity, type, gym, detail);

  return {
    handlers: {
      listGyms: async (ctx) => {
        const gyms = gymsWithRoles(principalOf(ctx), MEMBERS);
        if (gyms === 'all') {
          ctx.body = { items: (await documents.collection(GYMS).find({})).map((doc) => toGym({ ...doc, configured: true })) };
          return;
        }
        const memberships = await identity.listMembershipsOfUser(principalOf(ctx).subject);
        const items: GymBody[] = [];
        for (const gym of [...gyms].sort()) {
          const roles = memberships.filter((m) => m.gym === gym).map((m) => m.role);
          items.push(toGym(await gymSettings(documents, gym), roles.sort()));
        }
        ctx.body = { items };
      },
      getGym: async (ctx, { params }) => {
        ctx.body = toGym(await gymSettings(documents, params.gym));
      },
      putGym: async (ctx, { params, body }) => {
        if (!isTimeZone(body.timeZone)) throw invalidParameter('timeZone', 'is not an IANA time zone this hub knows (e.g. Europe/Berlin)');
        const gyms = documents.collection(GYMS);
        const at = now();
        const existing = await gyms.get(params.gym);
        const doc = { id: params.gym, name: body.name, timeZone: body.timeZone, createdAt: existing?.createdAt ?? at, updatedAt: at };
        if (existing === undefined) {
          await gyms.insert(doc);
        } else await gyms.replace(doc);
        await audit(ctx, existing === undefined ? 'gym.created' : 'gym.changed', params.gym, { name: body.name, timeZone: body.timeZone });
        ctx.body = toGym({ ...doc, configured: true });
      },
      listMembers: async (ctx, { params, query }) => {
        const byUser = new Map<string, Membership[]>();
        for (const membership of await identity.listMembershipsOfGym(params.gym)) {
          if (query.role !== undefined && membership.role !== query.role) continue;
          byUser.set(membership.userId, [...(byUser.get(membership.userId) ?? []), membership]);
        }
        const members: MemberBody[] = [];
        for (const [userId, memberships] of byUser) {
          const user = await identity.getUser(userId);
          if (user !== undefined) members.push({ userId, displayName: user.displayName, email: user.email, roles: memberships.map((m) => m.role).sort() });
        }
        members.sort((a, b) => a.displayName.localeCompare(b.displayName) || a.userId.localeCompare(b.userId));
        const path = `${API_PREFIX}/gyms/${params.gym}/members`;
        const scope = [path, query.role ?? null];
        const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
        let start = 0;
        if (query.cursor !== undefined) {
          const [name, id] = decodePageCursor(query.cursor, scope, 2);
          start = members.findIndex((m) => m.displayName.localeCompare(String(name)) > 0 || (m.displayName === name && m.userId > String(id)));
          if (start < 0) start = members.length;
        }
        const items = members.slice(start, start + limit);
        const body: PageBody<MemberBody> = { items };
        if (start + limit < members.length) {
          const last = items.at(-1)!;
          const nextCursor = encodePageCursor([last.displayName, last.userId], scope);
          const search = new URLSearchParams({ ...(query.role ? { role: query.role } : {}), ...(query.limit ? { limit: String(limit) } : {}), cursor: nextCursor });
          body.nextCursor = nextCursor;
          body.next = `${path}?${search.toString()}`;
          ctx.set('Link', `<${body.next}>; rel="next"`);
        }
        ctx.body = body;
      },
      grantRole: async (ctx, { params }) => {
        if ((await identity.getUser(params.user)) === undefined) throw new ApiError('not_found', `no account ${params.user}`);
        await identity.addMembership({ userId: params.user, gym: params.gym, role: params.role });
        await audit(ctx, 'member.role_granted', params.gym, { user: params.user, role: params.role });
        ctx.body = await memberOf(params.gym, params.user);
      },
      revokeRole: async (ctx, { params }) => {
        const member = await memberOf(params.gym, params.user);
        if (member === undefined || !member.roles.includes(params.role)) throw new ApiError('not_found', `${params.user} is no ${params.role} of ${params.gym}`);
        if (params.role === 'gym_admin' && (await isLastAdmin(identity, params.gym, params.user))) {
          throw new ApiError('conflict', 'this is the gym’s last admin: give the role to someone else first');
        }
        await identity.removeMembership({ userId: params.user, gym: params.gym, role: params.role });
        await audit(ctx, 'member.role_revoked', params.gym, { user: params.user, role: params.role });
        ctx.body = await memberOf(params.gym, params.user);
      },
    },
  };
}
