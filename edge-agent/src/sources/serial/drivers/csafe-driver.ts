/**
 * CSAFE master: one request in flight, a poll on a fixed schedule, a response timeout per request.
 * CSAFE responses carry no request id, so a response is matched to the one request in flight; a frame
 * arriving when nothing is in flight (late after a timeout) is counted and dropped rather than guessed at.
 */
import type { MetricId } from '@pulsebridge/protocol';
import { TimeoutError } from '@pulsebridge/runtime';
import type { Decoded } from '../../measurement.ts';
import {
  CsafeCommand,
  ODOMETER_EVERY_POLLS,
  ODOMETER_POLL,
  PmCommand,
  WORK_TIME_POLL,
  WORKOUT_POLL,
  encodeCommands,
  pmCommands,
  shortCommand,
  type CommandBytes,
} from '../csafe/commands.ts';
import type { SerialFramer } from '../protocols.ts';
import { FramedInput, type DriverContext, type SerialDriver } from './driver.ts';

/** CSAFE machines are `serial:csafe:<serial number, else port>`. */
export const CSAFE_ID_PREFIX = 'serial:csafe:';

export interface CsafeDriverOptions {
  pollIntervalMs: number;
  responseTimeoutMs: number;
  /** Ask a Concept2 PM for its drag factor and work time through the 0x1A wrapper as part of each poll. */
  concept2: boolean;
}

const COMMAND_NAMES = new Map<number, string>(Object.entries(CsafeCommand).map(([name, id]) => [id, name]));
const PM_COMMAND_NAMES = new Map<number, string>(Object.entries(PmCommand).map(([name, id]) => [id, `pm.${name}`]));

/** Names of the commands in a request, for timeout messages and logs. */
function describe(commands: readonly CommandBytes[]): string {
  return commands
    .map((command) => {
      const [id, , ...data] = command;
      if (id === CsafeCommand.pmWrapper) return data.map((pm) => PM_COMMAND_NAMES.get(pm) ?? `pm.0x${pm.toString(16)}`).join('+');
      return COMMAND_NAMES.get(id ?? -1) ?? `0x${(id ?? 0).toString(16)}`;
    })
    .join(', ');
}

/** Consecutive timeouts after which the machine counts as not answering (health detail). */
const SILENT_AFTER_TIMEOUTS = 3;
/** GetSerial answers without a serial number this many times per connection: the machine keeps its path id. */
const IDENTIFY_ATTEMPTS = 2;

interface Request {
  purpose: 'identify' | 'poll';
  description: string;
  timer: NodeJS.Timeout;
}

export class CsafeDriver implements SerialDriver {
  readonly kind = 'rower';
  readonly idPrefix = CSAFE_ID_PREFIX;
  readonly metrics: readonly MetricId[] = ['distance', 'speed', 'stroke_rate', 'power', 'heart_rate', 'energy', 'elapsed_time', 'odometer'];
  readonly rateHz: number;
  private readonly options: CsafeDriverOptions;
  private readonly input: FramedInput;
  private readonly pollCommands: readonly CommandBytes[];
  private readonly pollFrame: Uint8Array;
  private readonly odometerPollCommands: readonly CommandBytes[];
  private readonly odometerPollFrame: Uint8Array;
  /** Polls sent since the port opened: the odometer goes with the first and every ODOMETER_EVERY_POLLS-th. */
  private polls = 0;
  private readonly identifyCommands: readonly CommandBytes[] = [shortCommand(CsafeCommand.getSerial)];
  private context: DriverContext | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private inFlight: Request | undefined;
  private identifyAttempts = 0;
  private consecutiveTimeouts = 0;
  private dragFactor: number | undefined;
  private readonly count = { requests: 0, responses: 0, timeouts: 0, refusedResponses: 0, unsolicited: 0 };

  /** `framer` cuts this protocol's byte stream into decoded frames (SERIAL_PROTOCOLS makes it). */
  constructor(options: CsafeDriverOptions, framer: SerialFramer) {
    this.options = options;
    this.input = new FramedInput(framer, 'CSAFE frame dropped (bad checksum, stuffing or length)');
    this.rateHz = 1000 / options.pollIntervalMs;
    // One work time per poll: two would be two elapsed_time readings with one time stamp.
    this.pollCommands = options.concept2
      ? [...WORKOUT_POLL, pmCommands(shortCommand(PmCommand.getDragFactor), shortCommand(PmCommand.getWorkTime))]
      : [...WORKOUT_POLL, WORK_TIME_POLL];
    this.pollFrame = encodeCommands(...this.pollCommands);
    this.odometerPollCommands = [...this.pollCommands, ODOMETER_POLL];
    this.odometerPollFrame = encodeCommands(...this.odometerPollCommands);
  }

  open(context: DriverContext): void {
    this.context = context;
    this.input.reset();
    this.identifyAttempts = 0;
    this.consecutiveTimeouts = 0;
    this.polls = 0;
    this.next();
    this.pollTimer = setInterval(() => this.next(), this.options.pollIntervalMs);
  }

  close(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    if (this.inFlight) clearTimeout(this.inFlight.timer);
    this.inFlight = undefined;
    this.context = undefined;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.count, droppedFrames: this.input.dropped };
  }

  receive(chunk: Uint8Array): void {
    const context = this.context;
    if (!context) return;
    const { decoded, dropped } = this.input.push(chunk, context);
    // A broken frame is the answer to the request in flight: retrying at the next poll beats waiting out the timeout.
    if (dropped > 0 && decoded.length === 0) this.finish();
    for (const response of decoded) this.handle(context, response);
  }

  private handle(context: DriverContext, response: Decoded): void {
    const request = this.inFlight;
    if (!request) {
      this.count.unsolicited++;
      context.rejected('CSAFE response with no request in flight (late answer after a timeout?)');
      return;
    }
    this.finish();
    this.count.responses++;
    this.consecutiveTimeouts = 0;
    context.problem(undefined);
    if (!response.ok) {
      // A NAK or a refused value: counted, and the next poll asks again.
      this.count.refusedResponses++;
      context.rejected(`CSAFE ${request.description}: ${response.reason}`);
      return;
    }
    const serial = response.facts?.['serial_number'];
    if (request.purpose === 'identify' && typeof serial === 'string') {
      this.identifyAttempts = IDENTIFY_ATTEMPTS;
      context.identified(serial);
    }
    const dragFactor = response.facts?.['drag_factor'];
    if (typeof dragFactor === 'number' && dragFactor !== this.dragFactor) {
      this.dragFactor = dragFactor;
      context.log.info({ dragFactor }, 'drag factor');
    }
    if (response.measurements.length > 0) context.measurements(response.measurements);
  }

  private next(): void {
    if (!this.context || this.inFlight) return;
    if (this.identifyAttempts < IDENTIFY_ATTEMPTS) {
      this.identifyAttempts++;
      this.send('identify', this.identifyCommands, encodeCommands(...this.identifyCommands));
    } else if (this.polls++ % ODOMETER_EVERY_POLLS === 0) this.send('poll', this.odometerPollCommands, this.odometerPollFrame);
    else this.send('poll', this.pollCommands, this.pollFrame);
  }

  private send(purpose: Request['purpose'], commands: readonly CommandBytes[], frame: Uint8Array): void {
    const context = this.context;
    if (!context) return;
    const description = describe(commands);
    const timer = setTimeout(() => this.timedOut(description), this.options.responseTimeoutMs);
    this.inFlight = { purpose, description, timer };
    this.count.requests++;
    context.write(frame);
  }

  private finish(): void {
    if (this.inFlight) clearTimeout(this.inFlight.timer);
    this.inFlight = undefined;
  }

  private timedOut(description: string): void {
    // Silence is not a refusal: a machine still booting behind an already-present USB port answers later,
    // and polling it under a path id first would split its readings over two sensor ids.
    if (this.inFlight?.purpose === 'identify') this.identifyAttempts--;
    this.inFlight = undefined;
    const context = this.context;
    if (!context) return;
    this.count.timeouts++;
    this.consecutiveTimeouts++;
    const error = new TimeoutError(`a CSAFE response to ${description}`, this.options.responseTimeoutMs);
    context.log.warn({ err: error, consecutive: this.consecutiveTimeouts }, 'CSAFE request timed out');
    if (this.consecutiveTimeouts >= SILENT_AFTER_TIMEOUTS) context.problem(`machine not answering: ${error.message} (${this.consecutiveTimeouts} times in a row)`);
  }
}
