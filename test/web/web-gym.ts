/**
 * The hub the browser tests drive: a ClassGym (test/class-harness.ts) whose hub serves a fresh build of the web
 * app on a fixed loopback port that is also its issuer, so the browser signs in on the hub's own page. Second
 * factors are off here; they have their own tests (hub/test/oidc).
 */
import { join } from 'node:path';
import { buildWeb } from '../../scripts/build-web.ts';
import type { IdentityStore } from '../../hub/src/identity/identity-store.ts';
import { hashPassword, PASSWORD_PARAMS } from '../../hub/src/identity/passwords.ts';
import { ClassGym, type ClassGymOptions } from '../class-harness.ts';
import { freePort } from '../harness.ts';

/** Builds the web app into `<dir>/web` and starts the gym; `hubEnv` adds to (or overrides) the web settings. */
export async function startWebGym(options: ClassGymOptions): Promise<{ gym: ClassGym; base: string }> {
  const webDir = join(options.dir, 'web');
  await buildWeb({ outDir: webDir, quiet: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gym = await ClassGym.start({
    ...options,
    hubEnv: {
      PB_HUB_HTTP__PORT: String(port),
      PB_HUB_IDENTITY__ISSUER: base,
      PB_HUB_WEB__DIR: webDir,
      PB_HUB_IDENTITY__SECOND_FACTOR__REQUIRED_FOR_ROLES: '[]',
      ...options.hubEnv,
    },
  });
  return { gym, base };
}

/**
 * Gives users `password` (hashed once: argon2 is slow on purpose) so they can sign in through the hub's page;
 * the function it returns answers the user's sign-in email.
 */
export async function withPassword(identity: IdentityStore, password: string): Promise<(user: string) => Promise<string>> {
  const hash = await hashPassword(password);
  return async (user) => {
    await identity.setPassword(user, { hash, paramsVersion: PASSWORD_PARAMS.version });
    return (await identity.getUser(user))!.email;
  };
}
