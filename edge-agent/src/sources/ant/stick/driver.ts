/**
 * The ANT stick driver: turns the transport's bytes into messages, sends commands one at a time and waits
 * for each answer, and hands received data and channel events to its owner. It holds no policy about which
 * sensors to listen to; the source decides that.
 */
import type { Logger } from 'pino';
import {
  ANT_PLUS_RF_CHANNEL,
  AntChannelType,
  AntLibConfig,
  assignChannel,
  closeChannel,
  enableExtendedMessages,
  openChannel,
  openRxScanMode,
  requestCapabilities,
  resetSystem,
  setChannelId,
  setChannelPeriod,
  setLibConfig,
  setNetworkKey,
  setRfFrequency,
  setSearchTimeout,
  type ChannelIdSearch,
} from '../codec/commands.ts';
import { AntFrameReader, AntMessageId, type AntFrame, type AntFrameReaderStats } from '../codec/frame.ts';
import { decodeAntMessage, type AntChannelEvent, type AntDataMessage, type AntMessage } from '../codec/messages.ts';
import type { AntTransport } from '../transport/transport.ts';
import { parseCapabilities, type AntStickCapabilities } from './capabilities.ts';
import { AntStickError } from './errors.ts';
import { ResponseWaiter } from './waiter.ts';

export interface AntStickOptions {
  transport: AntTransport;
  log: Logger;
  responseTimeoutMs: number;
  onData(message: AntDataMessage): void;
  onEvent(event: AntChannelEvent): void;
  /** The transport went away; every outstanding command has been rejected. */
  onLost(reason: string): void;
}

export interface AntStickStats extends AntFrameReaderStats {
  /** Frames with a valid checksum whose content did not decode (wrong length for their id...). */
  refusedMessages: number;
}

export interface ChannelSetup {
  channel: number;
  network: number;
  id: ChannelIdSearch;
  period: number;
  /** In units of 2.5 s; 0xFF never times out. */
  searchTimeout: number;
}

/** AP2 sticks answer a reset in well under a second; old USB1 sticks never send the startup message at all. */
const STARTUP_TIMEOUT_MS = 1_500;

const COMMAND_NAMES = new Map<number, string>(Object.entries(AntMessageId).map(([name, id]) => [id, name]));

function describe(messageId: number, channel: number): string {
  return `response to ${COMMAND_NAMES.get(messageId) ?? 'message'} (0x${messageId.toString(16)}) on channel ${channel}`;
}

export class AntStick {
  private readonly options: AntStickOptions;
  private readonly reader = new AntFrameReader();
  private readonly waiter = new ResponseWaiter();
  private queue: Promise<unknown> = Promise.resolve();
  private refusedMessages = 0;
  private open = false;
  capabilities: AntStickCapabilities | undefined;

  constructor(options: AntStickOptions) {
    this.options = options;
  }

  get description(): string {
    return this.options.transport.description;
  }

  async start(): Promise<void> {
    this.reader.reset();
    await this.options.transport.open({
      data: (chunk) => this.receive(chunk),
      lost: (reason) => {
        this.open = false;
        this.waiter.rejectAll(new AntStickError('closed', `${this.description} lost: ${reason}`));
        this.options.onLost(reason);
      },
    });
    this.open = true;
  }

  async stop(): Promise<void> {
    this.open = false;
    this.waiter.rejectAll(new AntStickError('closed', `${this.description} closed`));
    await this.options.transport.close();
  }

  stats(): AntStickStats {
    return { ...this.reader.stats(), refusedMessages: this.refusedMessages };
  }

  /** Resets the stick; resolves with the startup reason, or undefined for sticks that do not announce it. */
  async reset(): Promise<number | undefined> {
    return this.serialized(async () => {
      const startup = this.waiter.wait('startup message after reset', (m) => m.kind === 'startup', Math.max(STARTUP_TIMEOUT_MS, this.options.responseTimeoutMs));
      await this.options.transport.write(resetSystem());
      try {
        const message = await startup;
        return message.kind === 'startup' ? message.reason : undefined;
      } catch (error) {
        if (error instanceof AntStickError && error.code === 'timeout') {
          this.options.log.debug('no startup message after reset; assuming a stick that does not send one');
          return undefined;
        }
        throw error;
      }
    });
  }

  async requestCapabilities(): Promise<AntStickCapabilities> {
    return this.serialized(async () => {
      let frameOfCapabilities: AntFrame | undefined;
      const answer = this.waiter.wait('capabilities (0x54)', (m) => m.kind === 'capabilities', this.options.responseTimeoutMs);
      this.lastCapabilitiesFrame = (frame) => (frameOfCapabilities = frame);
      await this.options.transport.write(requestCapabilities());
      await answer;
      const parsed = frameOfCapabilities ? parseCapabilities(frameOfCapabilities) : undefined;
      if (!parsed) throw new AntStickError('rejected', 'capabilities message too short');
      this.capabilities = parsed;
      return parsed;
    });
  }

  setNetworkKey(network: number, key: Uint8Array): Promise<void> {
    return this.command(setNetworkKey(network, key), 0);
  }

  assignChannel(channel: number, channelType: number, network: number): Promise<void> {
    return this.command(assignChannel(channel, channelType, network), channel);
  }

  setChannelId(channel: number, id: ChannelIdSearch): Promise<void> {
    return this.command(setChannelId(channel, id), channel);
  }

  setChannelPeriod(channel: number, period: number): Promise<void> {
    return this.command(setChannelPeriod(channel, period), channel);
  }

  setSearchTimeout(channel: number, timeout: number): Promise<void> {
    return this.command(setSearchTimeout(channel, timeout), channel);
  }

  setRfFrequency(channel: number, rfChannel: number): Promise<void> {
    return this.command(setRfFrequency(channel, rfChannel), channel);
  }

  openChannel(channel: number): Promise<void> {
    return this.command(openChannel(channel), channel);
  }

  closeChannel(channel: number): Promise<void> {
    return this.command(closeChannel(channel), channel);
  }

  /**
   * Makes received data name its sender (channel id) and carry RSSI. Newer sticks take Lib Config; older
   * ones only the legacy switch, so a refusal of the first falls back to the second.
   */
  async enableExtendedData(): Promise<'lib_config' | 'legacy'> {
    try {
      await this.command(setLibConfig(AntLibConfig.channelId | AntLibConfig.rssi), 0);
      return 'lib_config';
    } catch (error) {
      if (!(error instanceof AntStickError) || error.code !== 'rejected') throw error;
      await this.command(enableExtendedMessages(true), 0);
      return 'legacy';
    }
  }

  /** Continuous scan on channel 0: every device on the ANT+ frequency, each message naming its sender. */
  async startScan(network: number): Promise<void> {
    await this.assignChannel(0, AntChannelType.bidirectionalSlave, network);
    await this.setChannelId(0, { deviceNumber: 0, deviceType: 0, transmissionType: 0 });
    await this.setRfFrequency(0, ANT_PLUS_RF_CHANNEL);
    await this.enableExtendedData();
    await this.command(openRxScanMode(), 0);
  }

  /** Reopens scanning after the scan channel closed; the channel keeps its assignment and id. */
  resumeScan(): Promise<void> {
    return this.command(openRxScanMode(), 0);
  }

  /** One channel following one device (or the first found, with wildcards). */
  async startChannel(setup: ChannelSetup): Promise<void> {
    await this.assignChannel(setup.channel, AntChannelType.bidirectionalSlave, setup.network);
    await this.setChannelId(setup.channel, setup.id);
    await this.setChannelPeriod(setup.channel, setup.period);
    await this.setSearchTimeout(setup.channel, setup.searchTimeout);
    await this.setRfFrequency(setup.channel, ANT_PLUS_RF_CHANNEL);
    await this.openChannel(setup.channel);
  }

  private lastCapabilitiesFrame: ((frame: AntFrame) => void) | undefined;

  private command(frame: Uint8Array, channel: number): Promise<void> {
    const messageId = frame[2] ?? 0;
    return this.serialized(async () => {
      const what = describe(messageId, channel);
      const answer = this.waiter.wait(what, (m) => m.kind === 'response' && m.messageId === messageId && m.channel === channel, this.options.responseTimeoutMs);
      await this.options.transport.write(frame).catch((error: unknown) => {
        answer.catch(() => undefined);
        throw error;
      });
      const response = await answer;
      if (response.kind === 'response' && !response.ok) throw new AntStickError('rejected', `stick refused: ${what} was ${response.name} (0x${response.code.toString(16)})`);
    });
  }

  /** The stick handles one command at a time; a second one sent early would be answered out of order. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const closed = (): AntStickError => new AntStickError('closed', `${this.description} is not open`);
    if (!this.open) return Promise.reject(closed());
    // The stick may go away while this command waits its turn: check again when the turn comes.
    const guarded = (): Promise<T> => (this.open ? work() : Promise.reject(closed()));
    const run = this.queue.then(guarded, guarded);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private receive(chunk: Uint8Array): void {
    for (const frame of this.reader.push(chunk)) {
      const result = decodeAntMessage(frame);
      if (!result.ok) {
        this.refusedMessages++;
        this.options.log.debug({ id: frame.id, reason: result.reason }, 'ANT message refused');
        continue;
      }
      this.dispatch(frame, result.message);
    }
  }

  private dispatch(frame: AntFrame, message: AntMessage): void {
    switch (message.kind) {
      case 'data':
        this.options.onData(message);
        return;
      case 'event':
        this.waiter.offer(message);
        this.options.onEvent(message);
        return;
      case 'capabilities':
        this.lastCapabilitiesFrame?.(frame);
        this.lastCapabilitiesFrame = undefined;
        this.waiter.offer(message);
        return;
      default:
        this.waiter.offer(message);
    }
  }
}
