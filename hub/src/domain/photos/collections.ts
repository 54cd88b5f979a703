/** The document collections of photos: what the image store keeps of each photo of equipment or of a profile. */
import { Type } from '@sinclair/typebox';
import type { CollectionSpec } from '../../documents/document-store.ts';

export const PHOTO_OWNER_KINDS = ['equipment', 'profile'] as const;
export type PhotoOwnerKind = (typeof PHOTO_OWNER_KINDS)[number];

export const PHOTOS = {
  name: 'photos',
  schema: Type.Object(
    {
      /** Also the image's id in the image store. */
      id: Type.String(),
      /** The gym of the equipment; none for a profile photo (a person's, in every gym). */
      gym: Type.Optional(Type.String()),
      ownerKind: Type.Union(PHOTO_OWNER_KINDS.map((kind) => Type.Literal(kind))),
      /** The equipment's id, or the user id of a profile. */
      ownerId: Type.String(),
      /** Of every variant (images.ts: WebP). */
      contentType: Type.String(),
      /** Of the original variant, upright. */
      width: Type.Integer(),
      height: Type.Integer(),
      /** Bytes of the stored original variant. */
      bytes: Type.Integer(),
      variants: Type.Array(Type.Object({ name: Type.String(), width: Type.Integer(), height: Type.Integer() }, { additionalProperties: false })),
      createdAt: Type.Number(),
    },
    { additionalProperties: false },
  ),
  indexes: [
    { name: 'by_owner', fields: ['ownerKind', 'ownerId', 'createdAt'] },
    // A person has one profile photo; replacing it swaps the document in one transaction.
    { name: 'one_profile_photo', fields: ['ownerId'], unique: true, partial: { ownerKind: 'profile' } },
  ],
} as const satisfies CollectionSpec;

export const PHOTOS_COLLECTIONS: readonly CollectionSpec[] = [PHOTOS];
