import assert from 'node:assert/strict';
import type { BleDecoded } from '../../../../src/sources/ble/profiles/profile.ts';
import type { Measurement, SensorFacts } from '../../../../src/sources/measurement.ts';

/** Bytes in wire order, written as the reference writes them: '1E 55 32 00'. */
export function wire(text: string): Uint8Array {
  const parts = text.trim().split(/\s+/).filter(Boolean);
  for (const part of parts) assert.match(part, /^[0-9a-fA-F]{2}$/, `bad byte "${part}" in test vector`);
  return Uint8Array.from(parts.map((part) => parseInt(part, 16)));
}

export function accepted<State>(decoded: BleDecoded<State>): { measurements: Measurement[]; facts?: SensorFacts; state?: State; quirks?: string[] } {
  if (!decoded.ok) assert.fail(`expected the bytes to decode, got refusal: ${decoded.reason}`);
  return decoded;
}

export function rejected<State>(decoded: BleDecoded<State>, reasonPattern: RegExp): void {
  if (decoded.ok) assert.fail(`expected a refusal, got ${JSON.stringify(decoded.measurements)}`);
  assert.match(decoded.reason, reasonPattern);
}

/** Measurements as metric -> value, rounded to a tolerance that is far below any field's resolution. */
export function values(decoded: BleDecoded<unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of accepted(decoded).measurements) {
    assert.equal(out[m.metric], undefined, `metric ${m.metric} appears twice`);
    out[m.metric] = Math.round(m.value * 1e9) / 1e9;
  }
  return out;
}

export function near(actual: number | undefined, expected: number, tolerance: number, what: string): void {
  assert.ok(actual !== undefined, `${what} missing`);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
}

export function parsed<T extends object>(result: T | { ok: false; reason: string }): T {
  if ('ok' in result) assert.fail(`expected the bytes to parse, got refusal: ${result.reason}`);
  return result;
}
