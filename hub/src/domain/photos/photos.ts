/** A photo's files and document: what uploads store, and what tests seed the same way. */
import { randomBytes } from 'node:crypto';
import type { DocumentOf } from '../../documents/document-store.ts';
import type { ImageLimits } from '../../images/config.ts';
import { processPhoto } from '../../images/images.ts';
import type { Domain } from '../domain.ts';
import { PHOTOS, type PhotoOwnerKind } from './collections.ts';

export type PhotoDoc = DocumentOf<(typeof PHOTOS)['schema']>;
export interface PhotoOwner {
  kind: PhotoOwnerKind;
  id: string;
  gym?: string;
}

/**
 * Checks and re-encodes an upload and writes its variants; returns the document for the caller to record (in
 * its own transaction). Nothing is left behind when writing a variant fails.
 */
export async function storePhoto(
  domain: Pick<Domain, 'images' | 'now' | 'log'>,
  upload: Buffer,
  owner: PhotoOwner,
  limits: ImageLimits,
  id: string = randomBytes(16).toString('base64url'),
): Promise<PhotoDoc> {
  const processed = await processPhoto(upload, limits);
  const original = processed.variants.find((v) => v.name === 'original')!;
  try {
    for (const variant of processed.variants) await domain.images.put(id, variant.name, variant.data);
  } catch (err) {
    await removePhotoFiles(domain, id);
    throw err;
  }
  return {
    id,
    ...(owner.gym === undefined ? {} : { gym: owner.gym }),
    ownerKind: owner.kind,
    ownerId: owner.id,
    contentType: processed.contentType,
    width: original.width,
    height: original.height,
    bytes: original.data.length,
    variants: processed.variants.map(({ name, width, height }) => ({ name, width, height })),
    createdAt: domain.now(),
  };
}

/** Files left behind when this fails are orphans no document names: harmless, and logged to be swept. */
export async function removePhotoFiles(domain: Pick<Domain, 'images' | 'log'>, id: string): Promise<void> {
  await domain.images.delete(id).catch((err: unknown) => domain.log.warn({ err, image: id }, 'could not remove the files of a photo'));
}
