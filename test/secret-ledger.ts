/**
 * The secrets a system test used, and where any of them shows up in its logs: as given, and in the encodings a
 * log could carry them in (URL-encoded, form-encoded, base64 of a Basic header, a JWT's signature on its own).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export class SecretLedger {
  private readonly secrets = new Map<string, string>();

  get size(): number {
    return this.secrets.size;
  }

  add(label: string, value: string): void {
    if (value.length < 6) throw new Error(`${label}: a secret shorter than 6 characters would match by chance`);
    this.secrets.set(label, value);
  }

  /** A JWT, and its signature alone: the part that makes a leaked token usable even when the rest is cut. */
  addJwt(label: string, jwt: string): void {
    this.add(label, jwt);
    const signature = jwt.slice(jwt.lastIndexOf('.') + 1);
    if (signature.length >= 16 && signature !== jwt) this.add(`${label} (signature)`, signature);
  }

  /** `label in file` for every secret found in a text, in any of its encodings. */
  foundIn(texts: ReadonlyMap<string, string>): string[] {
    const found: string[] = [];
    for (const [label, value] of this.secrets) {
      const patterns = [...new Set([value, encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2), Buffer.from(value).toString('base64')])].map(exactly);
      for (const [file, text] of texts) if (patterns.some((pattern) => pattern.test(text))) found.push(`${label} in ${file}`);
    }
    return found;
  }
}

/**
 * The value where it is not part of a longer run of the same kind of character: a 6-digit TOTP code inside a
 * 13-digit timestamp is a coincidence, not a leak.
 */
function exactly(value: string): RegExp {
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return /^\d+$/.test(value) ? new RegExp(`(?<!\\d)${escaped}(?!\\d)`) : new RegExp(escaped);
}

/** Every `.log` file under `dir`, at any depth. */
export function logFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.log'))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}
