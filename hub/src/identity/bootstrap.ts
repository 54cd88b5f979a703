/**
 * The first account of a new hub: a platform admin made from the command line (`pulsebridge-hub admin create`),
 * because with no admin nobody could sign in to make one. The demo uses the same function.
 */
import { randomBytes } from 'node:crypto';
import { ALL_GYMS, IdentityStoreError, type IdentityStore, type User } from './identity-store.ts';
import { PASSWORD_PARAMS, hashPassword } from './passwords.ts';

export interface NewPlatformAdmin {
  email: string;
  displayName?: string;
  /** When absent a random one is made and returned, to be shown once. */
  password?: string;
}

export interface CreatedPlatformAdmin {
  user: User;
  password: string;
  generated: boolean;
}

/** 18 random bytes: 24 URL-safe characters, far above the length rule and any guessing. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * Creates the user with a platform_admin membership, or gives an existing user of that email the role and a
 * new password when `resetExisting` is set (a lost admin password). Refused with `conflict` otherwise.
 */
export async function createPlatformAdmin(store: IdentityStore, admin: NewPlatformAdmin, options: { resetExisting?: boolean } = {}): Promise<CreatedPlatformAdmin> {
  const password = admin.password ?? generatePassword();
  const hash = await hashPassword(password);
  let user = await store.findUserByEmail(admin.email);
  if (user && !options.resetExisting) throw new IdentityStoreError('conflict', `email: a user with ${admin.email} exists already`, { param: 'email' });
  user ??= await store.createUser({ email: admin.email, displayName: admin.displayName ?? 'Platform admin' });
  await store.setPassword(user.id, { hash, paramsVersion: PASSWORD_PARAMS.version });
  const memberships = await store.listMembershipsOfUser(user.id);
  if (!memberships.some((m) => m.role === 'platform_admin')) await store.addMembership({ userId: user.id, gym: ALL_GYMS, role: 'platform_admin' });
  await store.appendAudit({ type: 'platform_admin.created', actorUserId: user.id, detail: { via: 'command line', existing: memberships.length > 0 } });
  return { user, password, generated: admin.password === undefined };
}
