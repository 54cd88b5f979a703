/**
 * ANT+ page decoders and the ANT frame reader, frames decoded per second, as JSON lines (DESIGN §9).
 *
 *   node --import tsx scripts/bench/ant-decoders.ts [--frames 200000] [--runs 5]
 *
 * Each profile decodes a realistic rotation of its pages with state threaded like a source does; the
 * reader cuts 4 broadcast frames per chunk out of a byte stream. Median of `--runs` runs.
 */
import { parseArgs } from 'node:util';
import { AntFrameReader, encodeFrame } from '../../edge-agent/src/sources/ant/codec/frame.ts';
import { decodeAntMessage } from '../../edge-agent/src/sources/ant/codec/messages.ts';
import { ANT_PROFILES } from '../../edge-agent/src/sources/ant/profiles/index.ts';
import { medianRate, printFigure } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    frames: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '5' },
  },
});
const FRAMES = Math.max(1_000, Number(args.frames));
const RUNS = Math.max(1, Number(args.runs));

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Pages per device type, in the order a sensor might send them; counters advance in `advance`. */
const ROTATIONS: Record<number, string[]> = {
  120: ['00 00 00 00 AA 55 33 46', '80 00 00 00 AA 59 34 46', '84 00 AA 59 AA 5D 35 46', '07 46 66 33 AA 5D 35 46'],
  121: ['00 04 02 00 00 04 05 00'],
  122: ['00 00 00 00 00 04 02 00', '84 FF 80 33 00 04 02 00'],
  123: ['00 00 00 00 00 04 05 00', '85 00 00 00 00 04 05 00'],
  124: ['01 64 C8 32 81 80 FE 30', '02 FF FF 3C 81 80 FF 00', '03 FF FF 3C 81 80 10 00'],
  11: ['10 01 FF 5A 11 22 C8 00', '12 01 01 5A 00 08 80 02', '50 FF FF FF 82 00 23 00'],
  17: ['10 19 FD 25 9D 27 00 35', '19 10 5A B0 47 1B 01 30', '11 FF FF 00 25 00 10 30'],
};

/** Makes counters move so stateful decoders do their full arithmetic rather than the repeat path. */
function advance(page: Uint8Array, step: number): Uint8Array {
  const copy = page.slice();
  copy[4] = (copy[4] ?? 0) + step * 3;
  copy[5] = (copy[5] ?? 0) + step * 4;
  copy[6] = (copy[6] ?? 0) + step;
  copy[1] = (copy[1] ?? 0) + step;
  return copy;
}

for (const profile of ANT_PROFILES.values()) {
  const rotation = (ROTATIONS[profile.deviceType] ?? []).map(hex);
  // A precomputed pool keeps page construction out of the timed loop.
  const pool = Array.from({ length: 1024 }, (_, i) => advance(rotation[i % rotation.length] ?? new Uint8Array(8), i & 0x3f));
  let sink = 0;
  const value = Math.round(
    medianRate(RUNS, () => {
      let state: unknown;
      for (let i = 0; i < FRAMES; i++) {
        const result = profile.decode(pool[i & 1023] ?? new Uint8Array(8), state);
        if (result.ok) {
          state = result.state;
          sink += result.measurements.length;
        }
      }
      return FRAMES;
    }),
  );
  if (sink < 0) throw new Error('unreachable: keeps the loop from being optimised away');
  printFigure(`${profile.name}_decode`, value, 'frames/s');
}

{
  // 4 frames per USB transfer, each followed by zero padding, as sticks deliver them.
  const frame = encodeFrame(0x4e, [...hex('00 10 19 18 19 1A 41 00 30'), 0x80, 0xf4, 0xed, 0x0b, 0x05]);
  const chunk = new Uint8Array((frame.length + 2) * 4);
  for (let i = 0; i < 4; i++) chunk.set(frame, i * (frame.length + 2));
  let pages = 0;
  const value = Math.round(
    medianRate(RUNS, () => {
      const reader = new AntFrameReader();
      for (let i = 0; i < FRAMES / 4; i++) {
        for (const f of reader.push(chunk)) if (decodeAntMessage(f).ok) pages++;
      }
      return FRAMES;
    }),
  );
  if (pages === 0) throw new Error('reader found no frames');
  printFigure('ant_frame_read_decode', value, 'frames/s');
}
