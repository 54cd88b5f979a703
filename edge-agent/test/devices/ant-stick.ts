/**
 * A simulated ANT USB2-class stick on a serial line (the far end of a socat pseudo-terminal pair).
 *
 *   node --import tsx edge-agent/test/devices/ant-stick.ts --port <path> --sensors 30 --key <16 hex>
 *        [--max-channels 8] [--no-scan] [--garbage-ms N] [--bad-checksum-every N] [--search-timeout-channel N]
 *        [--pages N] [--page-log <file>]
 *
 * It answers reset, capabilities, network key and channel configuration like a stick; in scan mode it
 * sends every sensor's pages with the extended channel id, in per-channel mode each open channel gets the
 * pages of the sensor it matches. It hears nothing when the network key differs from --key, as a real
 * stick would. Events for the test are JSON lines on stdout.
 *
 * --pages N makes every sensor fall silent after N broadcast pages (the stick emits `pagesDone` once all
 * have), so a test knows exactly what went over the air; --page-log writes each page sent as a JSON line
 * {"sensor": "ant:<type>:<number>:<transmission type>", "page": "<16 hex>"} for the test to decode itself.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SerialPort } from 'serialport';
import { AntFrameReader, AntMessageId, encodeFrame } from '../../src/sources/ant/codec/frame.ts';
import { simulatedSensors, type SimulatedAntSensor } from './ant-stick-sensors.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    sensors: { type: 'string', default: '30' },
    key: { type: 'string', default: '0000000000000000' },
    'max-channels': { type: 'string', default: '8' },
    'no-scan': { type: 'boolean', default: false },
    'garbage-ms': { type: 'string', default: '0' },
    'bad-checksum-every': { type: 'string', default: '0' },
    'search-timeout-channel': { type: 'string', default: '-1' },
    pages: { type: 'string', default: '0' },
    'page-log': { type: 'string' },
  },
});

if (!values.port) {
  process.stderr.write('--port is required\n');
  process.exit(2);
}

const sensors = simulatedSensors(Number(values.sensors));
const expectedKey = values.key.toLowerCase();
const maxChannels = Number(values['max-channels']);
const canScan = !values['no-scan'];
const garbageMs = Number(values['garbage-ms']);
const badChecksumEvery = Number(values['bad-checksum-every']);
const searchTimeoutChannel = Number(values['search-timeout-channel']);
const pagesPerSensor = Number(values.pages);
// Written synchronously so the log is complete the moment `pagesDone` is emitted.
const pageLog = values['page-log'] ? openSync(values['page-log'], 'w') : undefined;
const pagesSent = new Map<SimulatedAntSensor, number>();
let pagesDoneEmitted = false;
const TICK_MS = 20;

function emit(event: string, detail: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...detail })}\n`);
}

interface Channel {
  assigned: boolean;
  open: boolean;
  deviceNumber: number;
  deviceType: number;
  transmissionType: number;
  period: number;
  tracked?: SimulatedAntSensor;
  nextDueS: number;
  opens: number;
}

let keyOk = false;
let libConfig = 0;
let scanning = false;
let channels: Channel[] = [];
const startedAt = performance.now();
const dueS = new Map<SimulatedAntSensor, number>(sensors.map((s, i) => [s, (i * 0.0173) % 0.25]));
let dataFrames = 0;

function resetState(): void {
  keyOk = false;
  libConfig = 0;
  scanning = false;
  channels = Array.from({ length: maxChannels }, () => ({
    assigned: false,
    open: false,
    deviceNumber: 0,
    deviceType: 0,
    transmissionType: 0,
    period: 8192,
    nextDueS: 0,
    opens: 0,
  }));
}
resetState();

const port = new SerialPort({ path: values.port, baudRate: 57600 });
const reader = new AntFrameReader();

function send(frame: Uint8Array): void {
  port.write(Buffer.from(frame));
}

function respond(channel: number, messageId: number, code = 0): void {
  send(encodeFrame(AntMessageId.channelEvent, [channel, messageId, code]));
}

function channelEvent(channel: number, code: number): void {
  send(encodeFrame(AntMessageId.channelEvent, [channel, 0x01, code]));
}

const RESPONSE_CHANNEL_IN_WRONG_STATE = 0x15;
const RESPONSE_INVALID_MESSAGE = 0x28;

function handle(id: number, p: Uint8Array): void {
  const channelNumber = p[0] ?? 0;
  const channel = channels[channelNumber];
  switch (id) {
    case AntMessageId.resetSystem:
      resetState();
      emit('reset');
      setTimeout(() => send(encodeFrame(AntMessageId.startupMessage, [0x20])), 30);
      return;
    case AntMessageId.requestMessage:
      if (p[1] === AntMessageId.capabilities) {
        // Advanced options 2: 0x02 extended messages, 0x04 scan mode.
        send(encodeFrame(AntMessageId.capabilities, [maxChannels, 8, 0x00, 0xba, canScan ? 0x06 : 0x02, 0x00, 0x00, 0x00]));
      } else {
        respond(channelNumber, id, RESPONSE_INVALID_MESSAGE);
      }
      return;
    case AntMessageId.setNetworkKey: {
      const key = Buffer.from(p.subarray(1, 9)).toString('hex');
      keyOk = key === expectedKey;
      emit('networkKey', { ok: keyOk, network: p[0] });
      respond(0, id);
      return;
    }
    case AntMessageId.libConfig:
      libConfig = p[1] ?? 0;
      emit('libConfig', { flags: libConfig });
      respond(0, id);
      return;
    case AntMessageId.enableExtendedMessages:
      libConfig = p[1] ? 0x80 : 0;
      respond(0, id);
      return;
  }
  if (!channel) {
    respond(channelNumber, id, RESPONSE_INVALID_MESSAGE);
    return;
  }
  switch (id) {
    case AntMessageId.assignChannel:
      channel.assigned = true;
      respond(channelNumber, id);
      return;
    case AntMessageId.channelId:
      channel.deviceNumber = (p[1] ?? 0) | ((p[2] ?? 0) << 8);
      channel.deviceType = (p[3] ?? 0) & 0x7f;
      channel.transmissionType = p[4] ?? 0;
      respond(channelNumber, id);
      return;
    case AntMessageId.channelPeriod:
      channel.period = (p[1] ?? 0) | ((p[2] ?? 0) << 8);
      respond(channelNumber, id);
      return;
    case AntMessageId.searchTimeout:
    case AntMessageId.rfFrequency:
      respond(channelNumber, id);
      return;
    case AntMessageId.openChannel:
      if (!channel.assigned || channel.open) return respond(channelNumber, id, RESPONSE_CHANNEL_IN_WRONG_STATE);
      channel.open = true;
      channel.opens++;
      channel.nextDueS = elapsedS();
      respond(channelNumber, id);
      emit('channelOpen', { channel: channelNumber, opens: channel.opens, deviceNumber: channel.deviceNumber, deviceType: channel.deviceType });
      if (channelNumber === searchTimeoutChannel && channel.opens === 1) {
        // Search that finds nothing: the stick reports the timeout, then closes the channel itself.
        setTimeout(() => {
          channel.open = false;
          channelEvent(channelNumber, 0x01);
          channelEvent(channelNumber, 0x07);
          emit('searchTimeout', { channel: channelNumber });
        }, 200);
      }
      return;
    case AntMessageId.closeChannel:
      channel.open = false;
      respond(channelNumber, id);
      channelEvent(channelNumber, 0x07);
      return;
    case AntMessageId.openRxScanMode:
      if (!canScan || !channels[0]?.assigned) return respond(0, id, RESPONSE_INVALID_MESSAGE);
      scanning = true;
      respond(0, id);
      emit('scanOpen');
      return;
    default:
      respond(channelNumber, id, RESPONSE_INVALID_MESSAGE);
  }
}

function elapsedS(): number {
  return (performance.now() - startedAt) / 1000;
}

function antId(sensor: SimulatedAntSensor): string {
  return `ant:${sensor.deviceType}:${sensor.deviceNumber}:${sensor.transmissionType}`;
}

function exhausted(sensor: SimulatedAntSensor): boolean {
  return pagesPerSensor > 0 && (pagesSent.get(sensor) ?? 0) >= pagesPerSensor;
}

function dataFrame(channel: number, sensor: SimulatedAntSensor, timeS: number): Uint8Array {
  const page = sensor.nextPage(timeS);
  pagesSent.set(sensor, (pagesSent.get(sensor) ?? 0) + 1);
  if (pageLog !== undefined) writeSync(pageLog, `${JSON.stringify({ sensor: antId(sensor), page: Buffer.from(page).toString('hex') })}\n`);
  const payload = [channel, ...page];
  const wantsId = (libConfig & 0x80) !== 0;
  const wantsRssi = (libConfig & 0x40) !== 0;
  if (wantsId || wantsRssi) {
    payload.push(libConfig & 0xc0);
    if (wantsId) payload.push(sensor.deviceNumber & 0xff, (sensor.deviceNumber >> 8) & 0xff, sensor.deviceType, sensor.transmissionType);
    if (wantsRssi) payload.push(0x20, 0xc4, 0xa8);
  }
  const frame = encodeFrame(AntMessageId.broadcastData, payload);
  dataFrames++;
  if (badChecksumEvery > 0 && dataFrames % badChecksumEvery === 0) frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0x5a;
  return frame;
}

function matches(channel: Channel, sensor: SimulatedAntSensor): boolean {
  return (
    (channel.deviceNumber === 0 || channel.deviceNumber === (sensor.deviceNumber & 0xffff)) &&
    (channel.deviceType === 0 || channel.deviceType === sensor.deviceType) &&
    (channel.transmissionType === 0 || channel.transmissionType === sensor.transmissionType)
  );
}

function tick(): void {
  if (!keyOk) return;
  const now = elapsedS();
  const chunks: Uint8Array[] = [];
  if (scanning) {
    for (const sensor of sensors) {
      const due = dueS.get(sensor) ?? 0;
      if (due > now || exhausted(sensor)) continue;
      dueS.set(sensor, due + sensor.period / 32768);
      chunks.push(dataFrame(0, sensor, now));
    }
  } else {
    channels.forEach((channel, number) => {
      if (!channel.open || channel.nextDueS > now) return;
      channel.nextDueS += channel.period / 32768;
      if (!channel.tracked) {
        const taken = new Set(channels.map((c) => c.tracked));
        channel.tracked = sensors.find((s) => !taken.has(s) && matches(channel, s));
        if (!channel.tracked) return;
      }
      if (exhausted(channel.tracked)) return;
      chunks.push(dataFrame(number, channel.tracked, now));
    });
  }
  if (chunks.length > 0) port.write(Buffer.concat(chunks));
  if (pagesPerSensor > 0 && !pagesDoneEmitted && sensors.every(exhausted)) {
    pagesDoneEmitted = true;
    if (pageLog !== undefined) closeSync(pageLog);
    // After the last write has left for the pseudo-terminal, so the test's clock starts after it.
    port.drain(() => emit('pagesDone', { pages: pagesPerSensor, sensors: sensors.length }));
  }
}

function garbage(): void {
  const length = 3 + Math.floor(Math.random() * 12);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256);
  // A false sync byte with a plausible length makes the reader wait for and then reject a frame.
  bytes[0] = 0xa4;
  bytes[1] = 0x09;
  port.write(bytes);
}

port.on('open', () => emit('ready', { port: values.port, sensors: sensors.length }));
port.on('data', (chunk: Buffer) => {
  for (const frame of reader.push(chunk)) handle(frame.id, frame.payload);
});
port.on('error', (error) => {
  process.stderr.write(`ant-stick: ${error.message}\n`);
  process.exit(1);
});
port.on('close', () => process.exit(0));

setInterval(tick, TICK_MS);
if (garbageMs > 0) setInterval(garbage, garbageMs);
process.on('SIGTERM', () => process.exit(0));
