/** Handlers of photos-operations.ts. */
import type { Static } from '@sinclair/typebox';
import type { Domain } from '../domain/domain.ts';
import { PHOTOS } from '../domain/photos/collections.ts';
import { removePhotoFiles, storePhoto, type PhotoDoc, type PhotoOwner } from '../domain/photos/photos.ts';
import { DEFAULT_IMAGE_LIMITS } from '../images/config.ts';
import type { PhotoVariant } from '../images/images.ts';
import type { ApiContext } from './context.ts';
import { API_PREFIX } from './operation.ts';
import { listPage } from './pages.ts';
import { PHOTOS_OPERATIONS, type Photo } from './photos-operations.ts';
import { ApiError } from './problem.ts';
import type { RouteModule } from './route-module.ts';
import { principalOf, resourceGym } from './self.ts';

type PhotoBody = Static<typeof Photo>;

/** Photos one piece of equipment may have: enough to show it from every side, not a place to store albums. */
export const MAX_EQUIPMENT_PHOTOS = 20;

/** Equipment photos never change under their URL (a new photo gets a new id). */
const IMMUTABLE = 'private, max-age=31536000, immutable';
/** A profile photo's URL stays when it is replaced: clients revalidate with the ETag. */
const REVALIDATE = 'private, no-cache';

function variantUrl(doc: PhotoDoc, variant: string): string {
  return doc.ownerKind === 'equipment' ? `${API_PREFIX}/equipment/${doc.ownerId}/photos/${doc.id}/${variant}` : `${API_PREFIX}/me/photo/${variant}`;
}

function toPhoto(doc: PhotoDoc): PhotoBody {
  return {
    id: doc.id,
    ownerKind: doc.ownerKind,
    ownerId: doc.ownerId,
    contentType: doc.contentType,
    width: doc.width,
    height: doc.height,
    bytes: doc.bytes,
    variants: doc.variants.map((v) => ({ ...v, url: variantUrl(doc, v.name) })),
    createdAt: new Date(doc.createdAt).toISOString(),
  };
}

export function photosRoutes(domain: Domain): RouteModule<typeof PHOTOS_OPERATIONS> {
  const { documents, images } = domain;
  const limits = domain.imageLimits ?? DEFAULT_IMAGE_LIMITS;
  const photos = documents.collection(PHOTOS);

  const store = (upload: Buffer, owner: PhotoOwner): Promise<PhotoDoc> => storePhoto(domain, upload, owner, limits);

  const removeImage = (id: string): Promise<void> => removePhotoFiles(domain, id);

  async function sendVariant(ctx: ApiContext, doc: PhotoDoc | undefined, variant: PhotoVariant, cacheControl: string): Promise<void> {
    const bytes = doc === undefined ? undefined : await images.get(doc.id, variant);
    if (doc === undefined || bytes === undefined) throw new ApiError('not_found', 'no such photo');
    ctx.status = 200;
    ctx.etag = `${doc.id}.${variant}`;
    ctx.set('Cache-Control', cacheControl);
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.type = doc.contentType;
    ctx.body = bytes;
  }

  const profilePhotoOf = (userId: string) => photos.findOne({ ownerKind: 'profile', ownerId: userId });

  return {
    handlers: {
      uploadEquipmentPhoto: async (ctx, { params, upload }) => {
        const gym = resourceGym(ctx);
        if ((await photos.count({ ownerKind: 'equipment', ownerId: params.id })) >= MAX_EQUIPMENT_PHOTOS) {
          throw new ApiError('conflict', `equipment ${params.id} has ${MAX_EQUIPMENT_PHOTOS} photos already; remove one first`);
        }
        const doc = await store(upload, { kind: 'equipment', id: params.id, gym });
        try {
          await photos.insert(doc);
        } catch (err) {
          await removeImage(doc.id);
          throw err;
        }
        ctx.status = 201;
        ctx.body = toPhoto(doc);
      },
      listEquipmentPhotos: async (ctx, { params, query }) => {
        await listPage(ctx, {
          collection: photos,
          where: { ownerKind: 'equipment', ownerId: params.id },
          orderBy: ['createdAt'],
          query,
          path: `${API_PREFIX}/equipment/${params.id}/photos`,
          params: {},
          toItem: toPhoto,
        });
      },
      getEquipmentPhoto: async (ctx, { params }) => {
        const doc = await photos.findOne({ id: params.photo, ownerKind: 'equipment', ownerId: params.id });
        await sendVariant(ctx, doc, params.variant, IMMUTABLE);
      },
      deleteEquipmentPhoto: async (ctx, { params }) => {
        const doc = await photos.findOne({ id: params.photo, ownerKind: 'equipment', ownerId: params.id });
        if (doc === undefined || (await photos.delete({ id: doc.id, ownerKind: 'equipment', ownerId: params.id })) === 0) {
          throw new ApiError('not_found', `equipment ${params.id} has no photo ${params.photo}`);
        }
        await removeImage(doc.id);
        ctx.body = toPhoto(doc);
      },
      putMyPhoto: async (ctx, { upload }) => {
        const userId = principalOf(ctx).subject;
        const doc = await store(upload, { kind: 'profile', id: userId });
        let replaced: PhotoDoc | undefined;
        try {
          replaced = await documents.transaction(async (session) => {
            const collection = session.collection(PHOTOS);
            const old = await collection.findOne({ ownerKind: 'profile', ownerId: userId });
            if (old !== undefined) await collection.delete({ id: old.id });
            await collection.insert(doc);
            return old;
          });
        } catch (err) {
          await removeImage(doc.id);
          throw err;
        }
        if (replaced !== undefined) await removeImage(replaced.id);
        ctx.body = toPhoto(doc);
      },
      getMyPhoto: async (ctx, { params }) => {
        await sendVariant(ctx, await profilePhotoOf(principalOf(ctx).subject), params.variant, REVALIDATE);
      },
      deleteMyPhoto: async (ctx) => {
        const userId = principalOf(ctx).subject;
        const doc = await profilePhotoOf(userId);
        if (doc === undefined || (await photos.delete({ id: doc.id, ownerKind: 'profile', ownerId: userId })) === 0) throw new ApiError('not_found', 'you have no profile photo');
        await removeImage(doc.id);
        ctx.body = toPhoto(doc);
      },
    },
  };
}
