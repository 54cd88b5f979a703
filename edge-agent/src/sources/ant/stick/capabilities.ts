/**
 * What a stick says it can do, from the Capabilities message (0x54). The codec decodes its first four
 * bytes; the fifth (advanced options 2), sent by AP2 and later parts, tells whether the stick can scan.
 */
import type { AntFrame } from '../codec/frame.ts';

export interface AntStickCapabilities {
  maxChannels: number;
  maxNetworks: number;
  /** Continuous scan mode (one channel hears every device): AP2, USB2, USB-m. */
  scanMode: boolean;
  /** Received data can carry the sender's channel id. Unknown (false) on sticks that send 4 bytes. */
  extendedMessages: boolean;
  raw: number[];
}

const ADVANCED_OPTIONS_2 = 4;
const EXT_MESSAGE_ENABLED = 0x02;
const SCAN_MODE_ENABLED = 0x04;

export function parseCapabilities(frame: AntFrame): AntStickCapabilities | undefined {
  const p = frame.payload;
  if (p.length < 4) return undefined;
  const options2 = p[ADVANCED_OPTIONS_2] ?? 0;
  return {
    maxChannels: p[0] ?? 0,
    maxNetworks: p[1] ?? 0,
    scanMode: (options2 & SCAN_MODE_ENABLED) !== 0,
    extendedMessages: (options2 & EXT_MESSAGE_ENABLED) !== 0,
    raw: [...p],
  };
}
