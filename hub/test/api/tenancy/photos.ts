/** Tenancy cases of photos-operations.ts. */
import { createHash } from 'node:crypto';
import type { PHOTOS_OPERATIONS } from '../../../src/api/photos-operations.ts';
import type { Domain } from '../../../src/domain/domain.ts';
import { PHOTOS } from '../../../src/domain/photos/collections.ts';
import type { PhotoVariant } from '../../../src/images/images.ts';
import { storePhoto, type PhotoOwner } from '../../../src/domain/photos/photos.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../../src/images/config.ts';
import { insertEquipment, png } from '../../images/photo-fixtures.ts';
import { GYM_A, GYM_B, type FeatureTenancy } from './tenancy-case.ts';

const UPLOAD = { contentType: 'image/png', bytes: await png(64, 48) };
const A_PHOTO = 'photo-of-a';
const A_PROFILE_PHOTO = 'profile-photo-of-a';

async function seedPhoto(domain: Domain, id: string, owner: PhotoOwner): Promise<void> {
  await domain.documents.collection(PHOTOS).insert(await storePhoto(domain, await png(80, 60), owner, DEFAULT_IMAGE_LIMITS, id));
}

// The caller's own profile photo (targetsA: false) is set, read, then removed: in that order, by every role of B.
export const photosTenancy: FeatureTenancy<keyof typeof PHOTOS_OPERATIONS> = {
  cases: {
    uploadEquipmentPhoto: { attempts: [{ method: 'POST', path: '/api/v1/equipment/equipment-of-a/photos', upload: UPLOAD, targetsA: true }] },
    listEquipmentPhotos: { attempts: [{ path: '/api/v1/equipment/equipment-of-a/photos', targetsA: true }] },
    getEquipmentPhoto: {
      attempts: [
        { path: `/api/v1/equipment/equipment-of-a/photos/${A_PHOTO}/thumb-256`, targetsA: true },
        // B's own equipment in the path does not open A's photo.
        { path: `/api/v1/equipment/equipment-of-b/photos/${A_PHOTO}/original`, targetsA: true },
      ],
    },
    deleteEquipmentPhoto: {
      attempts: [
        { method: 'DELETE', path: `/api/v1/equipment/equipment-of-a/photos/${A_PHOTO}`, targetsA: true },
        { method: 'DELETE', path: `/api/v1/equipment/equipment-of-b/photos/${A_PHOTO}`, targetsA: true },
      ],
    },
    putMyPhoto: { attempts: [{ method: 'PUT', path: '/api/v1/me/photo', upload: UPLOAD, targetsA: false }] },
    getMyPhoto: { attempts: [{ path: '/api/v1/me/photo/thumb-256', targetsA: false }] },
    deleteMyPhoto: { attempts: [{ method: 'DELETE', path: '/api/v1/me/photo', targetsA: false }] },
  },
  async seed({ domain, accounts }) {
    await insertEquipment(domain, 'equipment-of-a', GYM_A);
    await insertEquipment(domain, 'equipment-of-b', GYM_B);
    await seedPhoto(domain, A_PHOTO, { kind: 'equipment', id: 'equipment-of-a', gym: GYM_A });
    await seedPhoto(domain, 'photo-of-b', { kind: 'equipment', id: 'equipment-of-b', gym: GYM_B });
    await seedPhoto(domain, A_PROFILE_PHOTO, { kind: 'profile', id: accounts[GYM_A].athlete });
    return [A_PHOTO, A_PROFILE_PHOTO];
  },
  async stateOfA({ domain, accounts }) {
    const photos = domain.documents.collection(PHOTOS);
    const docs = [...(await photos.find({ gym: GYM_A })), ...(await photos.find({ ownerKind: 'profile', ownerId: { in: Object.values(accounts[GYM_A]) } }))];
    const files: Record<string, string> = {};
    for (const id of [A_PHOTO, A_PROFILE_PHOTO]) {
      for (const variant of ['original', 'thumb-1024', 'thumb-256'] satisfies PhotoVariant[]) {
        const bytes = await domain.images.get(id, variant);
        files[`${id}/${variant}`] = bytes === undefined ? 'missing' : createHash('sha256').update(bytes).digest('hex');
      }
    }
    return { docs, files };
  },
};
