/**
 * The image-store port: where photos (equipment, profiles) and their thumbnails are kept as files. The
 * default adapter is a folder (folder-image-store.ts), which in production is an NFS volume shared by the
 * hub's replicas. What goes in has been checked and re-encoded already (images.ts); the store only keeps bytes.
 */
export interface ImageStore {
  /** Writes one variant (e.g. 'original', 'thumb-256') of an image, replacing it if present. */
  put(id: string, variant: string, bytes: Buffer): Promise<void>;
  get(id: string, variant: string): Promise<Buffer | undefined>;
  /** Removes every variant of the image; false when there was none. */
  delete(id: string): Promise<boolean>;
}
