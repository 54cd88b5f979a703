/** A real hub for tests: on ephemeral loopback ports, with the test service client, and its platform-admin token. */
import { loadHubConfig, type HubConfig } from '../src/config.ts';
import type { Hub } from '../src/hub.ts';
import type { IdentityClient } from '../src/oidc/config.ts';
import { clientsWithTestService, serviceToken } from './service-token.ts';

/** `env` adds or replaces PB_HUB_* variables (e.g. TLS, an external broker); `clients` come beside the test service. */
export function testHubConfig(dataDir: string, env: Record<string, string> = {}, clients: IdentityClient[] = []): HubConfig {
  return loadHubConfig({
    overrides: { identity: { clients: [...clientsWithTestService(), ...clients] } },
    env: {
      PB_HUB_HUB__DATA_DIR: dataDir,
      PB_HUB_HTTP__HOST: '127.0.0.1',
      PB_HUB_HTTP__PORT: '0',
      PB_HUB_MQTT__HOST: '127.0.0.1',
      PB_HUB_MQTT__PORT: '0',
      PB_HUB_INGEST__MAX_WRITE_DELAY_MS: '0',
      ...env,
    },
  });
}

const tokens = new WeakMap<Hub, Promise<string>>();

/** A platform admin's access token from a started hub (plain HTTP), fetched once per hub. */
export function platformToken(hub: Hub): Promise<string> {
  let token = tokens.get(hub);
  if (token === undefined) {
    token = serviceToken(`http://127.0.0.1:${hub.addresses.http!.port}`);
    tokens.set(hub, token);
  }
  return token;
}
