/**
 * The channel plan of a stick that cannot scan: one channel per allowlisted sensor, and wildcard channels
 * on the free channel numbers while joining is permitted. Remembers who owns each channel, so data on a
 * channel without extended data can still be attributed to its sensor.
 */
import { errorMessage } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import { ANT_SEARCH_TIMEOUT_INFINITE } from './codec/commands.ts';
import type { AntChannelId } from './codec/messages.ts';
import { parseAntSensorId, type AntSourceConfig } from './config.ts';
import { antProfileFor } from './profiles/index.ts';
import type { AntStick } from './stick/driver.ts';

/** The one ANT network the source uses; the ANT+ key is set on it. */
export const ANT_NETWORK = 0;
const SEARCH_TIMEOUT_UNIT_S = 2.5;

interface ChannelOwner {
  /** Set for a channel opened for one allowlisted sensor; undefined for a wildcard (pairing) channel. */
  sensorId?: string;
  channelId?: AntChannelId;
  deviceType: number;
}

export class AntChannels {
  private readonly owners = new Map<number, ChannelOwner>();
  private readonly config: Pick<AntSourceConfig, 'pairingDeviceTypes' | 'channelSearchTimeoutSeconds'>;
  private readonly log: Logger;

  constructor(config: Pick<AntSourceConfig, 'pairingDeviceTypes' | 'channelSearchTimeoutSeconds'>, log: Logger) {
    this.config = config;
    this.log = log;
  }

  /** A new stick session: no channel is open. */
  clear(): void {
    this.owners.clear();
  }

  channelIdOf(channel: number): AntChannelId | undefined {
    return this.owners.get(channel)?.channelId;
  }

  sensorOf(channel: number): string | undefined {
    return this.owners.get(channel)?.sensorId;
  }

  /** A channel per allowed sensor, as far as the stick has channels, then wildcard channels when `joinOpen()`. */
  async openAll(stick: AntStick, maxChannels: number, allowed: Iterable<string>, joinOpen: () => boolean): Promise<void> {
    // Extended data lets wildcard channels name whom they found; channels for known sensors work without.
    await stick.enableExtendedData().catch((error: unknown) => this.log.warn({ err: errorMessage(error) }, 'stick has no extended data; wildcard pairing cannot name sensors'));
    let channel = 0;
    const skipped: string[] = [];
    for (const id of allowed) {
      const channelId = parseAntSensorId(id);
      const profile = channelId && antProfileFor(channelId.deviceType);
      if (!channelId || !profile) continue;
      if (channel >= maxChannels) {
        skipped.push(id);
        continue;
      }
      await stick.startChannel({
        channel,
        network: ANT_NETWORK,
        id: { deviceNumber: channelId.deviceNumber & 0xffff, deviceType: channelId.deviceType, transmissionType: channelId.transmissionType },
        period: profile.channelPeriod,
        searchTimeout: this.searchTimeoutUnits(),
      });
      this.owners.set(channel, { sensorId: id, channelId: { ...channelId, pairing: false }, deviceType: channelId.deviceType });
      channel++;
    }
    if (skipped.length > 0) this.log.warn({ maxChannels, skipped }, 'stick has fewer channels than allowed sensors; some are not listened to');
    if (joinOpen()) await this.openPairing(stick, maxChannels);
  }

  /** Wildcard channels on the free channel numbers, one device type each, while joining is permitted. */
  async openPairing(stick: AntStick, maxChannels = stick.capabilities?.maxChannels ?? 0): Promise<void> {
    const types = this.config.pairingDeviceTypes.filter((t) => antProfileFor(t));
    if (types.length === 0) return;
    let next = 0;
    for (let channel = 0; channel < maxChannels; channel++) {
      if (this.owners.has(channel)) continue;
      const deviceType = types[next++ % types.length] ?? 0;
      const profile = antProfileFor(deviceType);
      if (!profile) continue;
      this.owners.set(channel, { deviceType });
      await stick.startChannel({
        channel,
        network: ANT_NETWORK,
        id: { deviceNumber: 0, deviceType, transmissionType: 0 },
        period: profile.channelPeriod,
        searchTimeout: this.searchTimeoutUnits(),
      });
    }
  }

  private searchTimeoutUnits(): number {
    const seconds = this.config.channelSearchTimeoutSeconds;
    if (seconds === 0) return ANT_SEARCH_TIMEOUT_INFINITE;
    return Math.min(ANT_SEARCH_TIMEOUT_INFINITE - 1, Math.max(1, Math.ceil(seconds / SEARCH_TIMEOUT_UNIT_S)));
  }
}
