/**
 * What a serial driver is: the protocol half of one port. The channel owns the port, reconnection, sensor
 * ids and time stamps; the driver owns what is said on the line (handshake, polling, timeouts) and turns
 * frames into measurements through the protocol's pure decoders.
 */
import type { MetricId } from '@pulsebridge/protocol';
import type { Logger } from 'pino';
import type { Decoded, Measurement } from '../../measurement.ts';
import type { SerialFramer } from '../protocols.ts';

/** Which of the port's sensors a measurement belongs to: the device itself, or its corrected GPS track. */
export type SensorRole = 'device' | 'corrected';

export interface DriverContext {
  readonly log: Logger;
  write(bytes: Uint8Array): void;
  /** Stamped with the receive time by the channel. */
  measurements(measurements: readonly Measurement[], role?: SensorRole): void;
  /** A frame or payload that could not be used: counted in health `rejected`. */
  rejected(reason: string): void;
  /** The device told its serial number: it becomes the sensor id. */
  identified(serialNumber: string): void;
  /** Why the open port is not delivering (undefined once it delivers again). */
  problem(detail: string | undefined): void;
}

export interface SerialDriver {
  /** Default sensor kind for the inventory. */
  readonly kind: string;
  readonly idPrefix: string;
  readonly metrics: readonly MetricId[];
  /** Metrics of the `<id>~corrected` sensor; absent when the driver has no corrected track. */
  readonly correctedMetrics?: readonly MetricId[];
  /** How often the device delivers a reading of each metric, for the inventory. */
  readonly rateHz: number;
  /** The port is open: start the session. */
  open(context: DriverContext): void;
  receive(chunk: Uint8Array): void;
  /** The port is gone or closing: stop every timer; nothing may be written any more. */
  close(): void;
  /** Driver-specific counters (timeouts, NAKs, handshakes), for logs and tests. */
  counters(): Readonly<Record<string, number>>;
}

/**
 * A driver's framer with the bookkeeping every framed protocol needs: frames the framer dropped (bad
 * checksum, over-long, noise) are reported to the context as rejected, once each.
 */
export class FramedInput {
  private readonly framer: SerialFramer;
  private readonly dropReason: string;
  private reported = 0;

  constructor(framer: SerialFramer, dropReason: string) {
    this.framer = framer;
    this.dropReason = dropReason;
  }

  /** A new session: a partial frame is forgotten, drops so far are already accounted for. */
  reset(): void {
    this.framer.reset();
    this.reported = this.framer.dropped();
  }

  get dropped(): number {
    return this.framer.dropped();
  }

  /** The decoded frames of `chunk`, and how many frames were dropped while cutting them. */
  push(chunk: Uint8Array, context: DriverContext): { decoded: Decoded[]; dropped: number } {
    const decoded = this.framer.push(chunk);
    const dropped = this.framer.dropped() - this.reported;
    for (; this.reported < this.framer.dropped(); this.reported++) context.rejected(this.dropReason);
    return { decoded, dropped };
  }
}
