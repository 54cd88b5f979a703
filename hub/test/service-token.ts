/**
 * A service client with platform-admin roles for tests that drive a real hub's API, and how to get its token
 * (client credentials, as the company's other services do). The flows themselves are tested in hub/test/oidc.
 */
import { API_SCOPES } from '../src/auth/principal.ts';
import { ALL_GYMS } from '../src/identity/identity-store.ts';
import { DEFAULT_CLIENTS, type IdentityClient } from '../src/oidc/config.ts';

export const TEST_SERVICE_ID = 'test-operator';
export const TEST_SERVICE_SECRET = 'test-operator-secret-0123456789';

/** The default clients plus the test's service client. */
export function clientsWithTestService(secret: string = TEST_SERVICE_SECRET): IdentityClient[] {
  return [
    ...DEFAULT_CLIENTS,
    {
      clientId: TEST_SERVICE_ID,
      name: 'Test operator',
      kind: 'service',
      redirectUris: [],
      postLogoutRedirectUris: [],
      firstParty: true,
      clientSecret: secret,
      scopes: [],
      roles: [{ gym: ALL_GYMS, role: 'platform_admin' }],
    },
  ];
}

/** An access token with every API scope for the test service, from the hub at `baseUrl`. */
export async function serviceToken(baseUrl: string, secret: string = TEST_SERVICE_SECRET, init: RequestInit = {}): Promise<string> {
  const response = await fetch(`${baseUrl}/oidc/token`, {
    ...init,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${TEST_SERVICE_ID}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: Object.keys(API_SCOPES).join(' ') }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || body.access_token === undefined) throw new Error(`no service token: ${response.status} ${body.error ?? ''} ${body.error_description ?? ''}`);
  return body.access_token;
}
