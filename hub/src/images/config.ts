/** Where photos are kept (`images`) and how large an upload may be. */
import { Type, type Static } from '@sinclair/typebox';

/**
 * The most bytes a photo upload may have, and the default of `images.maxUploadBytes`. The API reads uploads
 * up to this ceiling (photos-operations.ts) and refuses a larger one from its Content-Length, or as soon as a
 * streamed body passes it, without buffering the rest; the setting can only lower it.
 */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_PIXELS = 40_000_000;

export const ImagesConfig = Type.Object(
  {
    dir: Type.Optional(Type.String({ minLength: 1, description: 'Folder of photos and thumbnails (an NFS volume for several replicas); default <dataDir>/images' })),
    maxUploadBytes: Type.Integer({
      minimum: 1024,
      maximum: MAX_UPLOAD_BYTES,
      default: MAX_UPLOAD_BYTES,
      description: `Largest photo upload in bytes (at most ${MAX_UPLOAD_BYTES}, the API's read ceiling)`,
    }),
    maxPixels: Type.Integer({
      minimum: 1_000_000,
      maximum: 268_402_689,
      default: DEFAULT_MAX_PIXELS,
      description: 'Largest photo in pixels (width x height), checked from the header before any decoding',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type ImagesConfig = Static<typeof ImagesConfig>;

/** What the photo processing (images.ts) enforces. */
export type ImageLimits = Pick<ImagesConfig, 'maxUploadBytes' | 'maxPixels'>;
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxUploadBytes: MAX_UPLOAD_BYTES, maxPixels: DEFAULT_MAX_PIXELS };
