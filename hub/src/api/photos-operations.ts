/** The operations table of photos of equipment and profiles: checked, stripped of metadata, with thumbnails. */
import { Type } from '@sinclair/typebox';
import { MAX_UPLOAD_BYTES } from '../images/config.ts';
import { ACCEPTED_CONTENT_TYPES, PHOTO_CONTENT_TYPE, PHOTO_VARIANTS } from '../images/images.ts';
import { PHOTO_OWNER_KINDS } from '../domain/photos/collections.ts';
import { ADMINS, MEMBERS } from './access.ts';
import { API_PREFIX, JSON_TYPE, type Operation } from './operation.ts';
import { pageSchema, PageQueryFields } from './pages.ts';

const DocumentId = (what: string) => Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: `${what}: letters, digits, - and _` });
const VariantParam = Type.Union(
  PHOTO_VARIANTS.map((variant) => Type.Literal(variant)),
  { description: `${PHOTO_VARIANTS.join(', ')}: the re-encoded photo, or a thumbnail by its longest side in pixels` },
);

export const EquipmentPhotosPath = Type.Object({ id: DocumentId('the equipment id') }, { additionalProperties: false });
export const EquipmentPhotoPath = Type.Object({ id: DocumentId('the equipment id'), photo: DocumentId('the photo id') }, { additionalProperties: false });
export const EquipmentPhotoVariantPath = Type.Object(
  { id: DocumentId('the equipment id'), photo: DocumentId('the photo id'), variant: VariantParam },
  { additionalProperties: false },
);
export const MyPhotoVariantPath = Type.Object({ variant: VariantParam }, { additionalProperties: false });
export const PhotosQuery = Type.Object({ ...PageQueryFields }, { additionalProperties: false });

export const Photo = Type.Object({
  id: Type.String({ description: 'The photo id; a new photo gets a new id, so its variants never change' }),
  ownerKind: Type.Union(
    PHOTO_OWNER_KINDS.map((kind) => Type.Literal(kind)),
    { description: 'equipment or profile' },
  ),
  ownerId: Type.String({ description: 'The equipment id, or the user id of the profile' }),
  contentType: Type.String({ description: `Content-Type of every variant (${PHOTO_CONTENT_TYPE})` }),
  width: Type.Integer({ description: 'Width of the original variant in pixels, upright' }),
  height: Type.Integer({ description: 'Height of the original variant in pixels, upright' }),
  bytes: Type.Integer({ description: 'Size of the original variant in bytes' }),
  variants: Type.Array(
    Type.Object({
      name: Type.String({ description: PHOTO_VARIANTS.join(', ') }),
      width: Type.Integer(),
      height: Type.Integer(),
      url: Type.String({ description: 'Path of the variant’s bytes (with the same access token)' }),
    }),
    { description: 'The stored variants: the re-encoded original and thumbnails no larger than the original' },
  ),
  createdAt: Type.String({ format: 'date-time', description: 'When it was uploaded' }),
});

const UPLOAD = { contentTypes: ACCEPTED_CONTENT_TYPES, maxBytes: MAX_UPLOAD_BYTES } as const;
const UPLOAD_DESCRIPTION =
  'The body is the image file itself (JPEG, PNG or WebP). What it is is decided by its content, not its Content-Type: anything else, or a damaged file, is refused with 415. ' +
  'A file over images.maxUploadBytes, or an image over images.maxPixels (read from its header, before decoding), is refused with 413. ' +
  'The photo is turned upright by its EXIF orientation and re-encoded as WebP, without any of its metadata (EXIF, GPS, XMP, ICC profile); 256 and 1024 pixel thumbnails are made.';
const BYTES_DESCRIPTION = `The variant's bytes (${PHOTO_CONTENT_TYPE}), with an ETag`;

export const PHOTOS_OPERATIONS = {
  uploadEquipmentPhoto: {
    operationId: 'uploadEquipmentPhoto',
    method: 'post',
    path: `${API_PREFIX}/equipment/:id/photos`,
    tag: 'photos',
    summary: 'Adds a photo to a piece of equipment',
    description: UPLOAD_DESCRIPTION,
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'equipment' } },
    params: EquipmentPhotosPath,
    upload: UPLOAD,
    response: { description: 'The stored photo with the URLs of its variants', contentType: JSON_TYPE, schema: Photo, status: 201 },
    problems: ['invalid_parameter', 'not_found', 'conflict', 'payload_too_large', 'unsupported_media_type', 'unavailable'],
  },
  listEquipmentPhotos: {
    operationId: 'listEquipmentPhotos',
    path: `${API_PREFIX}/equipment/:id/photos`,
    tag: 'photos',
    summary: 'The photos of a piece of equipment, oldest first',
    access: { roles: MEMBERS, scope: 'gym:read', gym: { resource: 'equipment' } },
    params: EquipmentPhotosPath,
    query: PhotosQuery,
    response: { description: 'A page of photos', contentType: JSON_TYPE, schema: pageSchema(Photo, 'Photos by upload time') },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  getEquipmentPhoto: {
    operationId: 'getEquipmentPhoto',
    path: `${API_PREFIX}/equipment/:id/photos/:photo/:variant`,
    tag: 'photos',
    summary: 'The bytes of one variant of an equipment photo',
    description: 'A photo id and variant never change, so the answer may be cached for a year (privately: it needs a token).',
    access: { roles: MEMBERS, scope: 'gym:read', gym: { resource: 'equipment' } },
    params: EquipmentPhotoVariantPath,
    response: { description: BYTES_DESCRIPTION, contentType: PHOTO_CONTENT_TYPE },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  deleteEquipmentPhoto: {
    operationId: 'deleteEquipmentPhoto',
    method: 'delete',
    path: `${API_PREFIX}/equipment/:id/photos/:photo`,
    tag: 'photos',
    summary: 'Removes a photo of a piece of equipment with all its variants',
    access: { roles: ADMINS, scope: 'gym:write', gym: { resource: 'equipment' } },
    params: EquipmentPhotoPath,
    response: { description: 'The removed photo', contentType: JSON_TYPE, schema: Photo },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  putMyPhoto: {
    operationId: 'putMyPhoto',
    method: 'put',
    path: `${API_PREFIX}/me/photo`,
    tag: 'photos',
    summary: "Sets the caller's profile photo, replacing the one they had",
    description: UPLOAD_DESCRIPTION,
    access: { roles: MEMBERS, scope: 'me:write', gym: 'self' },
    upload: UPLOAD,
    response: { description: 'The stored photo with the URLs of its variants', contentType: JSON_TYPE, schema: Photo },
    problems: ['invalid_parameter', 'payload_too_large', 'unsupported_media_type', 'unavailable'],
  },
  getMyPhoto: {
    operationId: 'getMyPhoto',
    path: `${API_PREFIX}/me/photo/:variant`,
    tag: 'photos',
    summary: "The bytes of one variant of the caller's profile photo",
    description: 'The URL stays when the photo is replaced: revalidate with If-None-Match (the ETag names the photo).',
    access: { roles: MEMBERS, scope: 'me:read', gym: 'self' },
    params: MyPhotoVariantPath,
    response: { description: BYTES_DESCRIPTION, contentType: PHOTO_CONTENT_TYPE },
    problems: ['invalid_parameter', 'not_found', 'unavailable'],
  },
  deleteMyPhoto: {
    operationId: 'deleteMyPhoto',
    method: 'delete',
    path: `${API_PREFIX}/me/photo`,
    tag: 'photos',
    summary: "Removes the caller's profile photo",
    access: { roles: MEMBERS, scope: 'me:write', gym: 'self' },
    response: { description: 'The removed photo', contentType: JSON_TYPE, schema: Photo },
    problems: ['not_found', 'unavailable'],
  },
} as const satisfies Record<string, Operation>;
