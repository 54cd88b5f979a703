/**
 * CSAFE response contents: a status byte, then `id, byte count, data` per answered command. A 0x1A entry
 * holds the Concept2 PM's answers to proprietary commands, nested in the same `id, count, data` form.
 */
import { CsafeCommand } from './commands.ts';

export const MachineState = {
  0: 'error',
  1: 'ready',
  2: 'idle',
  3: 'have_id',
  5: 'in_use',
  6: 'paused',
  7: 'finished',
  8: 'manual',
  9: 'offline',
} as const satisfies Record<number, string>;
export type MachineStateName = (typeof MachineState)[keyof typeof MachineState];

/** How the machine took the previous frame the agent sent. */
export type PreviousFrameStatus = 'ok' | 'rejected' | 'bad' | 'not_ready';
const PREVIOUS_FRAME: readonly PreviousFrameStatus[] = ['ok', 'rejected', 'bad', 'not_ready'];

export interface CsafeStatus {
  /** Alternates with each new response; the same toggle twice means a repeated (stale) response. */
  toggle: 0 | 1;
  previousFrame: PreviousFrameStatus;
  state: MachineStateName;
}

export interface ResponseEntry {
  id: number;
  data: Uint8Array;
}

export interface CsafeResponse {
  status: CsafeStatus;
  entries: ResponseEntry[];
  /** Answers to PM proprietary commands, unwrapped from 0x1A. */
  pmEntries: ResponseEntry[];
}

export type ParsedResponse = { ok: true; response: CsafeResponse } | { ok: false; reason: string };

export function parseStatus(byte: number): CsafeStatus | string {
  const stateCode = byte & 0x0f;
  const state = (MachineState as Record<number, MachineStateName | undefined>)[stateCode];
  if (state === undefined) return `status 0x${hex(byte)}: unknown machine state ${stateCode}`;
  if (byte & 0x40) return `status 0x${hex(byte)}: reserved bit 6 set`;
  return { toggle: byte & 0x80 ? 1 : 0, previousFrame: PREVIOUS_FRAME[(byte >> 4) & 0x03] as PreviousFrameStatus, state };
}

/** Splits `id, count, data` entries; a count running past the end is a truncated response. */
export function splitEntries(bytes: Uint8Array, where: string): ResponseEntry[] | string {
  const entries: ResponseEntry[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const id = bytes[offset] as number;
    const count = bytes[offset + 1];
    if (count === undefined) return `${where}: entry 0x${hex(id)} has no byte count`;
    const end = offset + 2 + count;
    if (end > bytes.length) return `${where}: entry 0x${hex(id)} claims ${count} bytes, ${bytes.length - offset - 2} left`;
    entries.push({ id, data: bytes.subarray(offset + 2, end) });
    offset = end;
  }
  return entries;
}

export function parseResponse(contents: Uint8Array): ParsedResponse {
  const statusByte = contents[0];
  if (statusByte === undefined) return { ok: false, reason: 'empty response: no status byte' };
  const status = parseStatus(statusByte);
  if (typeof status === 'string') return { ok: false, reason: status };
  const all = splitEntries(contents.subarray(1), 'response');
  if (typeof all === 'string') return { ok: false, reason: all };
  const entries: ResponseEntry[] = [];
  const pmEntries: ResponseEntry[] = [];
  for (const entry of all) {
    if (entry.id !== CsafeCommand.pmWrapper) {
      entries.push(entry);
      continue;
    }
    const nested = splitEntries(entry.data, 'PM wrapper 0x1A');
    if (typeof nested === 'string') return { ok: false, reason: nested };
    pmEntries.push(...nested);
  }
  return { ok: true, response: { status, entries, pmEntries } };
}

export function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
