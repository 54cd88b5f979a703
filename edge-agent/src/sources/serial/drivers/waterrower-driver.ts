/**
 * WaterRower S4/S5 session: `USB` until the monitor answers `_WR_`, then a round of memory reads per poll
 * interval. The monitor drops packets sent closer than 25 ms apart, so every write goes through one paced
 * queue. Answers are not matched to reads: each memory answer names its own address.
 */
import type { MetricId } from '@pulsebridge/protocol';
import { TimeoutError } from '@pulsebridge/runtime';
import type { SerialFramer } from '../protocols.ts';
import { WATERROWER_POLL } from '../waterrower/memory.ts';
import { WATERROWER_MIN_SEND_INTERVAL_MS, encodeModelRequest, encodeStartSession } from '../waterrower/protocol.ts';
import { FramedInput, type DriverContext, type SerialDriver } from './driver.ts';

/** WaterRower monitors have no serial number: `serial:waterrower:<port>`. */
export const WATERROWER_ID_PREFIX = 'serial:waterrower:';

export interface WaterRowerDriverOptions {
  pollIntervalMs: number;
  handshakeTimeoutMs: number;
  silenceTimeoutMs: number;
}

/** A margin over the monitor's minimum: USB scheduling can bunch two writes closer than they were sent. */
const SEND_INTERVAL_MS = WATERROWER_MIN_SEND_INTERVAL_MS + 5;

export class WaterRowerDriver implements SerialDriver {
  readonly kind = 'rower';
  readonly idPrefix = WATERROWER_ID_PREFIX;
  readonly metrics: readonly MetricId[] = ['distance', 'speed', 'stroke_count', 'heart_rate', 'energy'];
  readonly rateHz: number;
  private readonly options: WaterRowerDriverOptions;
  private readonly input: FramedInput;
  private context: DriverContext | undefined;
  private session: 'handshake' | 'polling' = 'handshake';
  private queue: Uint8Array[] = [];
  private sendTimer: NodeJS.Timeout | undefined;
  private lastSentAt = -Infinity;
  private lastRoundAt = -Infinity;
  private roundTimer: NodeJS.Timeout | undefined;
  private handshakeSentAt = 0;
  private lastPacketAt = 0;
  private readonly count = { handshakes: 0, rounds: 0, packets: 0, handshakeTimeouts: 0, silences: 0 };

  /** `framer` cuts this protocol's byte stream into decoded frames (SERIAL_PROTOCOLS makes it). */
  constructor(options: WaterRowerDriverOptions, framer: SerialFramer) {
    this.options = options;
    this.input = new FramedInput(framer, 'WaterRower line dropped (too long or not ASCII)');
    this.rateHz = 1000 / options.pollIntervalMs;
  }

  open(context: DriverContext): void {
    this.context = context;
    this.input.reset();
    this.lastPacketAt = performance.now();
    this.startHandshake();
    // One timer drives handshake retries, silence detection and the poll rounds.
    this.roundTimer = setInterval(() => this.tick(), Math.min(this.options.pollIntervalMs, this.options.handshakeTimeoutMs));
  }

  close(): void {
    clearInterval(this.roundTimer);
    clearTimeout(this.sendTimer);
    this.roundTimer = undefined;
    this.sendTimer = undefined;
    this.queue = [];
    this.context = undefined;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.count, droppedLines: this.input.dropped };
  }

  receive(chunk: Uint8Array): void {
    const context = this.context;
    if (!context) return;
    const { decoded } = this.input.push(chunk, context);
    for (const packet of decoded) {
      this.count.packets++;
      this.lastPacketAt = performance.now();
      if (!packet.ok) {
        context.rejected(packet.reason);
        continue;
      }
      if (packet.facts?.['hardware'] !== undefined && this.session === 'handshake') {
        this.session = 'polling';
        context.problem(undefined);
        this.enqueue([encodeModelRequest()]);
        this.poll();
      }
      if (packet.facts?.['model'] !== undefined) context.log.info(packet.facts, 'WaterRower monitor');
      if (packet.measurements.length > 0) context.measurements(packet.measurements);
    }
  }

  private startHandshake(): void {
    this.session = 'handshake';
    this.queue = [];
    this.count.handshakes++;
    this.handshakeSentAt = performance.now();
    this.enqueue([encodeStartSession()]);
  }

  private tick(): void {
    const context = this.context;
    if (!context) return;
    const now = performance.now();
    if (this.session === 'handshake') {
      if (now - this.handshakeSentAt >= this.options.handshakeTimeoutMs) {
        this.count.handshakeTimeouts++;
        context.problem(new TimeoutError('the _WR_ answer to the USB handshake from the WaterRower monitor', this.options.handshakeTimeoutMs).message);
        this.startHandshake();
      }
      return;
    }
    if (now - this.lastPacketAt >= this.options.silenceTimeoutMs) {
      // A monitor that was switched off and on again forgets the session: start it over.
      this.count.silences++;
      context.problem(new TimeoutError('a packet from the WaterRower monitor', this.options.silenceTimeoutMs).message);
      this.startHandshake();
      return;
    }
    // The timer may run faster than the poll interval when the handshake timeout is the shorter one.
    if (now - this.lastRoundAt >= this.options.pollIntervalMs * 0.9) this.poll();
  }

  private poll(): void {
    // A round still queued means the line is slower than the poll interval: skip rather than pile up.
    if (this.queue.length > 0) return;
    this.lastRoundAt = performance.now();
    this.count.rounds++;
    this.enqueue(WATERROWER_POLL);
  }

  private enqueue(packets: readonly Uint8Array[]): void {
    this.queue.push(...packets);
    this.drain();
  }

  private drain(): void {
    if (this.sendTimer || !this.context) return;
    const wait = this.lastSentAt + SEND_INTERVAL_MS - performance.now();
    if (wait > 0) {
      this.sendTimer = setTimeout(() => {
        this.sendTimer = undefined;
        this.drain();
      }, wait);
      return;
    }
    const packet = this.queue.shift();
    if (!packet) return;
    this.lastSentAt = performance.now();
    this.context.write(packet);
    if (this.queue.length > 0) this.drain();
  }
}
