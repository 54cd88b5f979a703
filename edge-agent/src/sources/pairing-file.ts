/**
 * The last allowlist the agent applied, kept in its data directory so that a start without the hub admits
 * the gym's paired sensors. Written atomically (a temporary file renamed over the old one): a crash while
 * writing leaves the previous list, never half of one. A file that cannot be read or does not hold a list
 * is ignored with a log line: the agent then starts with its configured `allow` list only.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { PairingMessage, compileValidator } from '@pulsebridge/protocol';
import { errorMessage } from '@pulsebridge/runtime';
import type { Logger } from 'pino';
import type { HubAllowlist } from './pairing-state.ts';

export const PAIRING_FILE_NAME = 'pairing.json';

const validator = compileValidator(PairingMessage);

/** The saved list, or undefined when there is none or it is unusable (logged). */
export function loadPairingFile(path: string, log: Logger): HubAllowlist | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ path, err: errorMessage(err) }, 'saved pairing list not readable; starting without it');
    return undefined;
  }
  try {
    return validator.check(JSON.parse(text));
  } catch (err) {
    log.warn({ path, err: errorMessage(err) }, 'saved pairing list is corrupt; ignoring it');
    return undefined;
  }
}

/** Replaces the saved list atomically; throws what the file system throws. */
export function savePairingFile(path: string, list: HubAllowlist): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify({ version: list.version, allow: list.allow, updatedAt: list.updatedAt }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
