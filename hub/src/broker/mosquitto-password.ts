/**
 * Lines for a Mosquitto 2 password file, so `agent add` can print the broker account of an agent for an
 * external broker without the secret passing through a shell command line (mosquitto_passwd -b would).
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';

/** What mosquitto_passwd 2.0 writes: `$7$` = PBKDF2-SHA512, 101 iterations, 12-byte salt, 64-byte key. */
const ITERATIONS = 101;
const SALT_BYTES = 12;
const KEY_BYTES = 64;

export function mosquittoPasswordLine(username: string, password: string, salt: Buffer = randomBytes(SALT_BYTES)): string {
  if (username.includes(':') || /[\r\n]/.test(username)) throw new Error(`a Mosquitto username cannot contain ":" or a line break: "${username}"`);
  const key = pbkdf2Sync(password, salt, ITERATIONS, KEY_BYTES, 'sha512');
  return `${username}:$7$${ITERATIONS}$${salt.toString('base64')}$${key.toString('base64')}`;
}
