/** Handlers of profile-operations.ts. */
import type { Static } from '@sinclair/typebox';
import type { Domain } from '../domain/domain.ts';
import { maxHeartRateOf } from '../domain/profile/heart-rate.ts';
import { DEFAULT_PROFILE, IdentityStoreError, type AthleteProfile, type AthleteProfileFields, type User } from '../identity/identity-store.ts';
import { PROFILE_OPERATIONS, type Profile } from './profile-operations.ts';
import { ApiError, invalidParameter } from './problem.ts';
import type { RouteModule } from './route-module.ts';
import { principalOf } from './self.ts';

type ProfileBody = Static<typeof Profile>;

function toBody(user: User, profile: AthleteProfile | undefined, now: number): ProfileBody {
  const { userId: _userId, updatedAt, ...fields } = profile ?? { ...DEFAULT_PROFILE, userId: user.id, updatedAt: undefined };
  return {
    userId: user.id,
    email: user.email,
    displayName: user.displayName,
    ...fields,
    maxHeartRateInUse: maxHeartRateOf(fields, now) ?? null,
    updatedAt: updatedAt === undefined ? null : new Date(updatedAt).toISOString(),
  };
}

export function profileRoutes(domain: Domain): RouteModule<typeof PROFILE_OPERATIONS> {
  const { identity, now } = domain;

  async function me(userId: string): Promise<User> {
    const user = await identity.getUser(userId);
    // A token outlives nothing it names in practice, but an account removed meanwhile has no profile to show.
    if (user === undefined) throw new ApiError('not_found', 'your account no longer exists');
    return user;
  }

  return {
    handlers: {
      getMyProfile: async (ctx) => {
        const user = await me(principalOf(ctx).subject);
        ctx.body = toBody(user, await identity.getProfile(user.id), now());
      },
      putMyProfile: async (ctx, { body }) => {
        const user = await me(principalOf(ctx).subject);
        const { displayName, ...fields } = body;
        if (fields.boardVisibility === 'alias' && fields.boardAlias === undefined) throw invalidParameter('boardAlias', 'is required when boardVisibility is alias');
        let saved: AthleteProfile;
        try {
          saved = await identity.saveProfile(user.id, fields as AthleteProfileFields);
          if (displayName.trim() !== user.displayName) await identity.setDisplayName(user.id, displayName);
        } catch (error) {
          // The store checks every field again; what it refuses is the caller's input.
          if (error instanceof IdentityStoreError && error.code === 'invalid_input') throw invalidParameter(error.param ?? 'body', error.message);
          throw error;
        }
        ctx.body = toBody({ ...user, displayName: displayName.trim() }, saved, now());
      },
    },
  };
}
