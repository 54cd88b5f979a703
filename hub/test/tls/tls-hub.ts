/** Hub configurations the TLS tests share. */
import { loadHubConfig, type HubConfig } from '../../src/config.ts';

/** A hub on ephemeral loopback ports with HTTPS, WSS and MQTTS from the development CA in its data folder. */
export function tlsHubConfig(dataDir: string): HubConfig {
  return loadHubConfig({
    env: {
      PB_HUB_HUB__DATA_DIR: dataDir,
      PB_HUB_HTTP__HOST: '127.0.0.1',
      PB_HUB_HTTP__PORT: '0',
      PB_HUB_HTTP__TLS__DEV: 'true',
      PB_HUB_MQTT__HOST: '127.0.0.1',
      PB_HUB_MQTT__PORT: '0',
      PB_HUB_MQTT__TLS__DEV: 'true',
    },
  });
}
