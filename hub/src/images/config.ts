/** Where photos are kept (`images`) and how large an upload may be. */
import { Type, type Static } from '@sinclair/typebox';

export const ImagesConfig = Type.Object(
  {
    dir: Type.Optional(Type.String({ minLength: 1, description: 'Folder of photos and thumbnails (an NFS volume for several replicas); default <dataDir>/images' })),
  },
  { additionalProperties: false, default: {} },
);
export type ImagesConfig = Static<typeof ImagesConfig>;
