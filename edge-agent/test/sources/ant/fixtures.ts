import assert from 'node:assert/strict';
import type { Decoded, Measurement, SensorFacts } from '../../../src/sources/measurement.ts';
import type { AntDecodeContext, AntPageDecoder } from '../../../src/sources/ant/profiles/page.ts';

/** Bytes from the reference's hex notation, spaces allowed. */
export function bytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  assert.match(clean, /^([0-9a-fA-F]{2})*$/, `bad hex in test: ${hex}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export type Ok<State> = Extract<Decoded<State>, { ok: true }>;

export function expectOk<State>(result: Decoded<State>): Ok<State> {
  if (!result.ok) assert.fail(`refused: ${result.reason}`);
  return result;
}

export function expectRefused(result: Decoded<unknown>, reason: RegExp): void {
  assert.equal(result.ok, false, 'expected a refusal');
  if (!result.ok) assert.match(result.reason, reason);
}

/** Decodes pages in order, threading state like a source does; returns every result. */
export function decodeAll<State>(decoder: AntPageDecoder<State>, pages: string[], context?: AntDecodeContext, start?: State): Ok<State>[] {
  let state = start;
  return pages.map((hex) => {
    const result = expectOk(decoder(bytes(hex), state, context));
    state = result.state;
    return result;
  });
}

/** The last decoded result of a sequence. */
export function decodeLast<State>(decoder: AntPageDecoder<State>, pages: string[], context?: AntDecodeContext, start?: State): Ok<State> {
  const results = decodeAll(decoder, pages, context, start);
  const last = results.at(-1);
  if (!last) return assert.fail('no pages');
  return last;
}

export function metric(measurements: Measurement[], id: Measurement['metric']): number | undefined {
  const found = measurements.filter((m) => m.metric === id);
  assert.ok(found.length <= 1, `${id} reported ${found.length} times`);
  return found[0]?.value;
}

export function close(actual: number | undefined, expected: number, tolerance = 1e-9): void {
  assert.ok(actual !== undefined, `expected ${expected}, got nothing`);
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected} ± ${tolerance}, got ${actual}`);
}

export function facts(result: Ok<unknown>): SensorFacts {
  return result.facts ?? {};
}
