/**
 * The default ImageStore: a folder, one subfolder per image with a file per variant. In production the folder
 * is an NFS volume that every hub replica mounts. A variant is written to a temporary file and renamed into
 * place, so a reader on any replica sees the old bytes or the new, never half of them.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageStore } from './image-store.ts';

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export class FolderImageStore implements ImageStore {
  private readonly dir: string;

  constructor(options: { dir: string }) {
    this.dir = options.dir;
  }

  private path(id: string, variant?: string): string {
    // Ids and variants come from the hub's own code, never from a request path; still, nothing may leave the folder.
    if (!NAME.test(id) || (variant !== undefined && !NAME.test(variant))) throw new Error(`invalid image id or variant: ${id}/${variant ?? ''}`);
    return variant === undefined ? join(this.dir, id) : join(this.dir, id, variant);
  }

  async put(id: string, variant: string, bytes: Buffer): Promise<void> {
    const target = this.path(id, variant);
    await mkdir(this.path(id), { recursive: true });
    const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, bytes, { mode: 0o640 });
    await rename(temporary, target);
  }

  async get(id: string, variant: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(id, variant));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(id: string): Promise<boolean> {
    const folder = this.path(id);
    const existed = await stat(folder).then(
      () => true,
      () => false,
    );
    await rm(folder, { recursive: true, force: true });
    return existed;
  }
}
