/**
 * Photo processing: what an upload really is, whether it may be decoded, and the re-encoded variants the image
 * store keeps. Nothing of the uploaded file is stored as it came: every variant is decoded and encoded anew,
 * turned upright by its EXIF orientation, converted to sRGB, with no EXIF, GPS, XMP or ICC profile left.
 *
 * Every variant is WebP: a third smaller than JPEG at the same quality on the NFS volume and on the phone's
 * connection, it keeps a PNG's transparency, and every browser and both mobile platforms decode it (iOS 14+).
 * One format for every variant means one Content-Type per photo.
 */
import sharp, { type Metadata } from 'sharp';
import { ApiError } from '../api/problem.ts';
import type { ImageLimits } from './config.ts';

// libvips' operation cache keeps recent decodes for reuse; uploads are decoded once and never again, so it
// would only hold memory. One libvips thread per image: the hub shares its cores with ingest and the API,
// and a few photos processed one thread each finish in about the same time without starving them.
sharp.cache(false);
sharp.concurrency(1);

/** Photos processed at once; the others wait. Each may hold a decoded image of up to maxPixels x 4 bytes. */
const MAX_PARALLEL = 2;

export const PHOTO_CONTENT_TYPE = 'image/webp';
/** Variants kept of every photo: the re-encoded original and thumbnails by their longest side. */
export const PHOTO_VARIANTS = ['original', 'thumb-1024', 'thumb-256'] as const;
export type PhotoVariant = (typeof PHOTO_VARIANTS)[number];
const THUMBNAIL_SIDES: Readonly<Record<PhotoVariant, number | undefined>> = { original: undefined, 'thumb-1024': 1024, 'thumb-256': 256 };
const QUALITY: Readonly<Record<PhotoVariant, number>> = { original: 85, 'thumb-1024': 80, 'thumb-256': 75 };

/** The image types taken, as sniffed from the first bytes and as sharp names their decoders. */
const ACCEPTED = [
  { format: 'jpeg', contentType: 'image/jpeg', matches: (b: Buffer) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { format: 'png', contentType: 'image/png', matches: (b: Buffer) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { format: 'webp', contentType: 'image/webp', matches: (b: Buffer) => b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP' },
] as const;
export const ACCEPTED_CONTENT_TYPES: readonly string[] = ACCEPTED.map((a) => a.contentType);

export interface ProcessedVariant {
  name: PhotoVariant;
  width: number;
  height: number;
  data: Buffer;
}

export interface ProcessedPhoto {
  /** What the upload really was (image/jpeg, image/png or image/webp), whatever it was declared as. */
  sourceType: string;
  contentType: typeof PHOTO_CONTENT_TYPE;
  variants: ProcessedVariant[];
}

function unsupported(detail: string): ApiError {
  return new ApiError('unsupported_media_type', detail, { param: 'body' });
}

/** Waits for one of MAX_PARALLEL slots, so that memory stays bounded under a burst of uploads. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(count: number) {
    this.free = count;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

const slots = new Slots(MAX_PARALLEL);

/**
 * Checks an upload and makes its variants. Refuses with 413 (payload_too_large) a file over
 * `maxUploadBytes` or an image over `maxPixels`, the latter from its header, before any pixel is decoded (a
 * decompression bomb: a few KB declaring 30000x30000); with 415 (unsupported_media_type) anything that is not
 * a JPEG, PNG or WebP by its content, or that does not decode completely (damaged, truncated).
 */
export async function processPhoto(input: Buffer, limits: ImageLimits): Promise<ProcessedPhoto> {
  if (input.length > limits.maxUploadBytes) throw new ApiError('payload_too_large', `the upload is larger than ${limits.maxUploadBytes} bytes`, { param: 'body' });
  const sniffed = ACCEPTED.find((a) => a.matches(input));
  if (sniffed === undefined) throw unsupported('the upload is not a JPEG, PNG or WebP image (by its content, whatever its Content-Type said)');
  let header: Metadata;
  try {
    // Reads the header only; the pixel limit is ours to apply below, with a clearer answer than sharp's.
    header = await sharp(input, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch (err) {
    throw unsupported(`the ${sniffed.format.toUpperCase()} image cannot be read: ${(err as Error).message}`);
  }
  if (header.format !== sniffed.format) throw unsupported(`the upload starts like ${sniffed.format.toUpperCase()} but is not one`);
  const width = header.width;
  const height = header.pageHeight ?? header.height;
  if (!(width > 0 && height > 0)) throw unsupported('the image declares no size');
  if (width * height > limits.maxPixels) {
    throw new ApiError('payload_too_large', `the image is ${width}x${height} pixels (${megapixels(width * height)}); at most ${megapixels(limits.maxPixels)} are taken`, {
      param: 'body',
    });
  }
  return slots.run(async () => {
    const variants: ProcessedVariant[] = [];
    // One variant after the other: each decodes the upload again (shrink-on-load makes thumbnails of a JPEG cheap),
    // which costs CPU but never holds more than one decoded image per upload.
    for (const name of PHOTO_VARIANTS) variants.push(await encode(input, name, limits));
    return { sourceType: sniffed.contentType, contentType: PHOTO_CONTENT_TYPE, variants };
  });
}

async function encode(input: Buffer, name: PhotoVariant, limits: ImageLimits): Promise<ProcessedVariant> {
  // failOn 'error': a truncated or damaged file is refused rather than stored half grey; libjpeg's mere warnings
  // (common in phone files) pass. sequentialRead: decode top to bottom in strips instead of the whole image.
  let pipeline = sharp(input, { limitInputPixels: limits.maxPixels, failOn: 'error', sequentialRead: true, autoOrient: true });
  const side = THUMBNAIL_SIDES[name];
  if (side !== undefined) pipeline = pipeline.resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true });
  try {
    // Without keepMetadata/withMetadata, sharp writes no EXIF, XMP or ICC profile and converts to sRGB.
    const { data, info } = await pipeline.webp({ quality: QUALITY[name] }).toBuffer({ resolveWithObject: true });
    return { name, width: info.width, height: info.height, data };
  } catch (err) {
    const message = (err as Error).message;
    if (/pixel limit/i.test(message)) throw new ApiError('payload_too_large', `the image has more than ${megapixels(limits.maxPixels)}`, { param: 'body' });
    throw unsupported(`the image cannot be decoded (damaged or truncated): ${message}`);
  }
}

function megapixels(pixels: number): string {
  return `${Math.round(pixels / 100_000) / 10} megapixels`;
}
