/** The operations table of photos of equipment and profiles: checked, stripped of metadata, with thumbnails. */
import type { Operation } from './operation.ts';

export const PHOTOS_OPERATIONS = {} as const satisfies Record<string, Operation>;
