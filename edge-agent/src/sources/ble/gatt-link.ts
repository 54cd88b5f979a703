/**
 * One GATT connection to a sensor: connect, discover the characteristics the profile table decodes,
 * subscribe to their notifications, read the once-only ones, and tear it all down again.
 *
 * Every noble promise is raced against a timeout of our own: noble's promises never settle when a link
 * drops in the middle of an operation. Every listener this link adds to noble objects is removed when it
 * closes, so reconnecting a sensor a thousand times leaves nothing behind.
 */
import { PulsebridgeError, errorMessage, withTimeout } from '@pulsebridge/runtime';
import { shortUuid } from './profiles/index.ts';
import type { CharacteristicLike, PeripheralLike } from './noble.ts';

export type BleLinkErrorCode = 'timeout' | 'connect_failed' | 'gatt_failed' | 'link_lost' | 'nothing_to_decode' | 'closed';

/** Subclassed so the source can tell a link's failures (and its timeouts) from bugs. */
export class BleLinkError extends PulsebridgeError<BleLinkErrorCode> {}

/** A noble step under `ms`, failing as a BleLinkError 'timeout'. */
function gattStep<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  // A promise that loses the race may still reject later (noble does when the link finally drops).
  promise.catch(() => undefined);
  return withTimeout(promise, ms, what, { error: (timeout) => new BleLinkError('timeout', timeout.message, { cause: timeout }) });
}

export interface GattLinkOptions {
  peripheral: PeripheralLike;
  sensorId: string;
  /** 'hci0', for messages. */
  adapter: string;
  connectTimeoutMs: number;
  gattTimeoutMs: number;
  /** 16-bit UUIDs of the characteristics to discover. */
  characteristics: readonly string[];
  /** Characteristics to subscribe to when they notify or indicate. */
  subscribe: (uuid: string) => boolean;
  /** Characteristics to read once now (device information, battery) when they are readable. */
  read: (uuid: string) => boolean;
  /** The link layer is up: the adapter may start its next connection while this one discovers. */
  onConnected: () => void;
  onNotification: (uuid: string, data: Buffer) => void;
  /** The link dropped after `open` began; not called for a `close()` of ours. */
  onDisconnect: (reason: string) => void;
}

export interface OpenedLink {
  /** 16-bit UUIDs of the characteristics found. */
  found: string[];
  subscribed: string[];
  reads: { uuid: string; data: Buffer }[];
  /** Reads that failed, with why: optional information, so they do not fail the link. */
  readFailures: { uuid: string; reason: string }[];
}

const HCI_DISCONNECT_REASONS: Record<number, string> = {
  0x08: 'supervision timeout',
  0x13: 'remote user terminated',
  0x14: 'remote device low resources',
  0x15: 'remote device power off',
  0x16: 'terminated by local host',
  0x22: 'LL response timeout',
  0x3d: 'MIC failure',
  0x3e: 'connection failed to be established',
};

export function disconnectReason(reason: unknown): string {
  if (typeof reason === 'number') {
    const name = HCI_DISCONNECT_REASONS[reason];
    return `HCI reason 0x${reason.toString(16).padStart(2, '0')}${name ? ` (${name})` : ''}`;
  }
  return reason === undefined || reason === null ? 'no reason given' : errorMessage(reason);
}

/**
 * The link died with its adapter (powered off, reset) and no disconnect event will ever say so: noble would
 * go on calling the peripheral connected and refuse the next connect ("Peripheral already connected").
 */
function forgetLinkState(peripheral: PeripheralLike): void {
  const mutable = peripheral as { state: string };
  if (mutable.state === 'connected' || mutable.state === 'connecting' || mutable.state === 'disconnecting') mutable.state = 'disconnected';
}

export class GattLink {
  private readonly options: GattLinkOptions;
  private readonly subscriptions: { characteristic: CharacteristicLike; listener: (data: Buffer, isNotification: boolean) => void }[] = [];
  private closed = false;
  private established = false;
  private connectCancelled = false;
  private lost: string | undefined;
  /** Rejects when the link drops or is closed, so a step in flight fails at once instead of at its timeout. */
  private readonly ended: Promise<never>;
  private endWith: (error: BleLinkError) => void = () => undefined;
  private readonly disconnectListener = (reason?: unknown): void => {
    if (this.closed) return;
    this.lost = disconnectReason(reason);
    this.release();
    this.endWith(new BleLinkError('link_lost', `${this.options.sensorId} disconnected: ${this.lost}`));
    // While opening, the failing step reports it; afterwards only this callback can.
    if (this.established) this.options.onDisconnect(this.lost);
  };

  constructor(options: GattLinkOptions) {
    this.options = options;
    this.ended = new Promise<never>((_, reject) => {
      this.endWith = reject;
    });
    this.ended.catch(() => undefined);
  }

  async open(): Promise<OpenedLink> {
    const { peripheral, sensorId, adapter } = this.options;
    peripheral.once('disconnect', this.disconnectListener);
    try {
      await gattStep(Promise.race([peripheral.connectAsync(), this.ended]), this.options.connectTimeoutMs, `connection to ${sensorId} on ${adapter}`);
    } catch (error) {
      this.cancelPendingConnect();
      this.check();
      if (error instanceof BleLinkError) throw error;
      throw new BleLinkError('connect_failed', `connection to ${sensorId} on ${adapter} failed: ${errorMessage(error)}`);
    }
    this.check();
    this.options.onConnected();

    const { characteristics } = await this.step(
      // No service filter: noble fails the whole discovery when one requested service is missing, and which
      // of ours a sensor has is what discovery is for.
      peripheral.discoverSomeServicesAndCharacteristicsAsync([], [...this.options.characteristics]),
      `service discovery of ${sensorId}`,
    );
    const opened: OpenedLink = { found: [], subscribed: [], reads: [], readFailures: [] };
    const seen = new Set<string>();
    for (const characteristic of characteristics) {
      const uuid = shortUuid(characteristic.uuid);
      if (uuid === undefined || seen.has(uuid)) continue;
      seen.add(uuid);
      opened.found.push(uuid);
      const properties = characteristic.properties;
      if (this.options.subscribe(uuid) && (properties.includes('notify') || properties.includes('indicate'))) {
        await this.subscribe(characteristic, uuid);
        opened.subscribed.push(uuid);
      }
    }
    for (const characteristic of characteristics) {
      const uuid = shortUuid(characteristic.uuid);
      if (uuid === undefined || !this.options.read(uuid) || !characteristic.properties.includes('read')) continue;
      if (opened.reads.some((r) => r.uuid === uuid)) continue;
      try {
        const data = await this.step(characteristic.readAsync(), `read of ${uuid} from ${sensorId}`);
        opened.reads.push({ uuid, data });
      } catch (error) {
        this.check();
        opened.readFailures.push({ uuid, reason: errorMessage(error) });
      }
    }
    if (opened.subscribed.length === 0) {
      throw new BleLinkError('nothing_to_decode', `${sensorId} notifies none of the characteristics this agent decodes (found: ${opened.found.join(', ') || 'none'})`);
    }
    this.check();
    this.established = true;
    return opened;
  }

  /** The link's signal strength (HCI Read RSSI), or undefined when the link is not up or does not answer. */
  async readRssi(): Promise<number | undefined> {
    if (!this.established || this.closed) return undefined;
    try {
      const rssi = await this.step(this.options.peripheral.updateRssiAsync(), `RSSI of ${this.options.sensorId}`);
      return typeof rssi === 'number' && Number.isFinite(rssi) ? rssi : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Ends the link: listeners removed, the connection cancelled or disconnected (waiting at most the GATT
   * timeout). `wait: false` skips the disconnect, for an adapter that went down or is being reset.
   */
  async close(wait = true): Promise<void> {
    if (this.closed) return;
    this.release();
    this.endWith(new BleLinkError('closed', `link to ${this.options.sensorId} was closed`));
    const { peripheral, sensorId } = this.options;
    if (!wait) {
      forgetLinkState(peripheral);
      return;
    }
    if (this.lost !== undefined) return;
    if (peripheral.state === 'connecting') {
      this.cancelPendingConnect();
      return;
    }
    if (peripheral.state !== 'connected') return;
    try {
      await gattStep(peripheral.disconnectAsync(), this.options.gattTimeoutMs, `disconnect of ${sensorId}`);
    } catch {
      // The sensor is dropped either way; a link the controller still holds ends with its supervision timeout.
    }
  }

  private release(): void {
    this.closed = true;
    this.options.peripheral.removeListener('disconnect', this.disconnectListener);
    for (const { characteristic, listener } of this.subscriptions) characteristic.removeListener('data', listener);
    this.subscriptions.length = 0;
  }

  private cancelPendingConnect(): void {
    const peripheral = this.options.peripheral;
    // noble leaves the state 'connecting' until the controller confirms the cancel, and its bindings send
    // LE Create Connection Cancel whatever is pending: a second one could cancel the next sensor's attempt.
    if (this.connectCancelled || peripheral.state !== 'connecting') return;
    this.connectCancelled = true;
    try {
      // Without a cancel, the hci-socket bindings keep the attempt pending and queue every later one behind it.
      peripheral.cancelConnect();
    } catch {
      // Nothing more can be done about an attempt the stack cannot cancel.
    }
  }

  private async subscribe(characteristic: CharacteristicLike, uuid: string): Promise<void> {
    const listener = (data: Buffer, isNotification: boolean): void => {
      // Reads arrive on the same event; they are handled where they were asked for.
      if (isNotification && !this.closed) this.options.onNotification(uuid, data);
    };
    characteristic.on('data', listener);
    this.subscriptions.push({ characteristic, listener });
    await this.step(characteristic.subscribeAsync(), `subscription to ${uuid} of ${this.options.sensorId}`);
  }

  /** One GATT step under the GATT timeout; a link that dropped or closed meanwhile fails it. */
  private async step<T>(promise: Promise<T>, what: string): Promise<T> {
    let result: T;
    try {
      result = await gattStep(Promise.race([promise, this.ended]), this.options.gattTimeoutMs, what);
    } catch (error) {
      this.check();
      if (error instanceof BleLinkError) throw error;
      throw new BleLinkError('gatt_failed', `${what} failed: ${errorMessage(error)}`);
    }
    this.check();
    return result;
  }

  private check(): void {
    if (this.lost !== undefined) throw new BleLinkError('link_lost', `${this.options.sensorId} disconnected: ${this.lost}`);
    if (this.closed) throw new BleLinkError('closed', `link to ${this.options.sensorId} was closed`);
  }
}
