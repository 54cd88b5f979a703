/** Hub configurations the TLS tests share. */
import type { HubConfig } from '../../src/config.ts';
import { testHubConfig } from '../test-hub.ts';

/** A hub on ephemeral loopback ports with HTTPS, WSS and MQTTS from the development CA in its data folder. */
export function tlsHubConfig(dataDir: string): HubConfig {
  return testHubConfig(dataDir, { PB_HUB_HTTP__TLS__DEV: 'true', PB_HUB_MQTT__TLS__DEV: 'true' });
}
