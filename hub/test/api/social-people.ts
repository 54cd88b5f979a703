/** People for the social API tests: real accounts with roles, each with a token named after them. */
import type { Role } from '../../src/identity/identity-store.ts';
import type { RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

export type Roles = [gym: string, role: Exclude<Role, 'platform_admin'>][];

export async function people<N extends string>(api: RunningApi, tokens: FixedTokens, specs: Record<N, Roles>): Promise<Record<N, string>> {
  const ids = {} as Record<N, string>;
  for (const [name, roles] of Object.entries(specs) as [N, Roles][]) {
    const user = await api.deps.domain.identity.createUser({ email: `${name}@example.org`, displayName: `${name} name` });
    for (const [gym, role] of roles) await api.deps.domain.identity.addMembership({ userId: user.id, gym, role });
    tokens.set(
      name,
      principal(
        roles.map(([gym, role]) => ({ gym, role })),
        { subject: user.id },
      ),
    );
    ids[name] = user.id;
  }
  return ids;
}

export function call(api: RunningApi, token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5_000),
  });
}

export async function json<T = Record<string, unknown>>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}
