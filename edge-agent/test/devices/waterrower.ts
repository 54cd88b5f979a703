/**
 * A WaterRower S4 monitor on a serial port: answers `USB` with `_WR_`, `IV?` with its model, and memory
 * reads (IRS/IRD/IRT) from a memory image that moves on each time distance is read, highest address first
 * as the monitor sends them. Before the handshake it ignores reads, like the real monitor. Sends PING and
 * stroke packets between answers. Each round's values are reported on stdout as JSON.
 *
 * Usage: node --import tsx edge-agent/test/devices/waterrower.ts --port <path>
 */
import { AsciiLineReader } from '../../src/sources/serial/line-reader.ts';
import { WATERROWER_BAUD_RATE, WATERROWER_MAX_LINE } from '../../src/sources/serial/waterrower/protocol.ts';
import { flags, openDevicePort, report } from './device-port.ts';

const values = flags({});
const port = await openDevicePort(String(values['port']), WATERROWER_BAUD_RATE);
const reader = new AsciiLineReader({ maxLength: WATERROWER_MAX_LINE });
const memory = new Uint8Array(0x1000);
let session = false;
let round = 0;

function store(address: number, size: number, value: number): void {
  for (let i = 0; i < size; i++) memory[address + i] = Math.floor(value / 256 ** i) & 0xff;
}

function nextRound(): void {
  round++;
  const state = { distance: 100 + 3 * round, stroke_count: 10 + round, speedCmPerS: 350 + (round % 5) * 10, heart_rate: 130 + (round % 10), calories: 50_000 + 1_000 * round };
  store(0x055, 2, state.distance);
  store(0x140, 2, state.stroke_count);
  store(0x14a, 2, state.speedCmPerS);
  store(0x1a0, 1, state.heart_rate);
  store(0x08a, 3, state.calories);
  report({
    event: 'round',
    round,
    values: { distance: state.distance, stroke_count: state.stroke_count, speed: state.speedCmPerS / 100, heart_rate: state.heart_rate, energy: state.calories / 1000 },
  });
}

const send = (text: string): void => void port.write(`${text}\r\n`);
const SIZES: Record<string, number> = { IRS: 1, IRD: 2, IRT: 3 };

function answer(line: string): void {
  if (line === 'USB') {
    session = true;
    return send('_WR_');
  }
  if (!session) return;
  if (line === 'EXIT') {
    session = false;
    return;
  }
  if (line === 'IV?') return send('IV40208');
  const read = /^(IR[SDT])([0-9A-F]{3})$/.exec(line);
  if (!read) return send('ERROR');
  const size = SIZES[read[1] as string] as number;
  const address = Number.parseInt(read[2] as string, 16);
  if (address === 0x055) nextRound();
  let data = '';
  for (let i = size - 1; i >= 0; i--) data += (memory[address + i] as number).toString(16).toUpperCase().padStart(2, '0');
  send(`ID${(read[1] as string).slice(2)}${read[2] as string}${data}`);
}

port.on('data', (chunk: Buffer) => {
  for (const line of reader.push(chunk)) answer(line);
});
setInterval(() => {
  if (!session) return;
  send('PING');
  send('SS');
  send('SE');
}, 1_000);
report({ event: 'ready' });
