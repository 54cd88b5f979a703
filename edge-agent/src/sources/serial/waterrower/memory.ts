/**
 * WaterRower memory locations the agent polls, and what their values mean in catalogue units. One table,
 * keyed by the read size and the address the read starts at (memory map from the S4/S5 USB protocol PDF
 * and WRCORE `MemoryLocation.java`).
 */
import type { Decoded, Measurement } from '../../measurement.ts';
import { refused } from '../../measurement.ts';
import { encodeMemoryRead, parseWaterRowerPacket, type MemorySize } from './protocol.ts';

interface MemoryValue {
  size: MemorySize;
  address: number;
  name: string;
  /** Measurements from the assembled value (bytes[0] is the byte at `address`), or why it is impossible. */
  decode(value: number, bytes: number[]): Measurement[] | string;
}

export const WATERROWER_MEMORY: readonly MemoryValue[] = [
  {
    size: 2,
    address: 0x055,
    name: 'distance',
    decode: (metres) => [{ metric: 'distance', value: metres }],
  },
  {
    size: 3,
    address: 0x054,
    name: 'distance with decimal',
    decode: (_value, [decimal, low, high]) => {
      // The PDF says 0x054 counts 0.1 m from 0 to 9; WRCORE reads it as centimetres. Follow the PDF, and
      // refuse what it calls impossible rather than guess: the poll list reads 0x055 (whole metres).
      if ((decimal as number) > 9) return `distance decimal byte ${decimal} > 9 (spec: 0.1 m count 0-9)`;
      return [{ metric: 'distance', value: (high as number) * 256 + (low as number) + (decimal as number) / 10 }];
    },
  },
  {
    size: 2,
    address: 0x140,
    name: 'stroke count',
    decode: (strokes) => [{ metric: 'stroke_count', value: strokes }],
  },
  {
    size: 2,
    address: 0x14a,
    name: 'speed',
    // "Instant average distance in cm" per second: the speed the monitor displays.
    decode: (centimetresPerSecond) => [{ metric: 'speed', value: centimetresPerSecond / 100 }],
  },
  {
    size: 1,
    address: 0x1a0,
    name: 'heart rate',
    // 0 means no chest strap receiver or no strap in range.
    decode: (bpm) => (bpm === 0 ? [] : [{ metric: 'heart_rate', value: bpm }]),
  },
  {
    size: 3,
    address: 0x08a,
    name: 'energy',
    // total_kcal_low/hi/up. Counted in calories (1/1000 kcal) as the open-source WaterRower readers do;
    // the PDF names the registers without a unit and no public test vector pins it down.
    decode: (calories) => [{ metric: 'energy', value: calories / 1000 }],
  },
];

const byKey = new Map(WATERROWER_MEMORY.map((entry) => [`${entry.size}:${entry.address}`, entry]));

/** The reads the agent sends in a round while a session runs, one packet every 25 ms or more. */
export const WATERROWER_POLL: readonly Uint8Array[] = WATERROWER_MEMORY.filter((entry) => entry.address !== 0x054).map((entry) => encodeMemoryRead(entry.size, entry.address));

/**
 * One line from the monitor into measurements. Session packets (OK, PING, strokes, pulses) decode to no
 * measurement; the model reply becomes sensor facts. Memory answers the agent did not ask for are ignored.
 */
export function decodeWaterRowerLine(text: string): Decoded {
  const parsed = parseWaterRowerPacket(text);
  if (!parsed.ok) return refused(parsed.reason);
  const { packet } = parsed;
  if (packet.kind === 'hardware') return { ok: true, measurements: [], facts: { hardware: packet.type } };
  if (packet.kind === 'model') return { ok: true, measurements: [], facts: { model: `S${packet.model}`, firmware: packet.firmware } };
  if (packet.kind !== 'memory') return { ok: true, measurements: [] };
  const entry = byKey.get(`${packet.size}:${packet.address}`);
  if (!entry) return { ok: true, measurements: [] };
  const measurements = entry.decode(packet.value, packet.bytes);
  if (typeof measurements === 'string') return refused(`${entry.name}: ${measurements}`);
  return { ok: true, measurements };
}
