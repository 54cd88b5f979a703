/** Test images, made with sharp at test time (no binary fixtures), and the equipment documents photo tests hang their photos on. */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { Domain } from '../../src/domain/domain.ts';
import { EQUIPMENT } from '../../src/domain/equipment/collections.ts';
import { machineDocument } from '../domain/test-domain.ts';

export async function insertEquipment(domain: Domain, id: string, gym: string): Promise<void> {
  await domain.documents.collection(EQUIPMENT).insert(machineDocument(id, gym));
}

/** A noisy photo (so it does not compress to nothing), with EXIF naming the camera and GPS coordinates. */
export async function jpegWithExif(options: { width?: number; height?: number; orientation?: number } = {}): Promise<Buffer> {
  const { width = 1600, height = 1200 } = options;
  let image = sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg({ quality: 80 });
  image = image.withExif({
    IFD0: { Make: 'LeakyCam', Model: 'LeakyCam Pro', Copyright: 'LeakyCam owner' },
    IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 8/1 3700/100', GPSLongitudeRef: 'E', GPSLongitude: '11/1 34/1 5000/100' },
  });
  const jpeg = await image.toBuffer();
  // withExif writes no Orientation tag; keepExif + withMetadata sets it.
  return options.orientation === undefined ? jpeg : sharp(jpeg).keepExif().withMetadata({ orientation: options.orientation }).jpeg().toBuffer();
}

export async function png(width = 320, height = 200): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 20, g: 120, b: 200, alpha: 0.5 } } })
    .png()
    .toBuffer();
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A decompression bomb: a valid greyscale PNG of `side` x `side` black pixels, whose zlib stream of zero rows
 * squeezes 900 MB of pixels (at 30000) into well under a megabyte. Decoding it would take side² bytes.
 */
export function pngBomb(side = 30_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const row = side + 1; // filter byte + pixels
  // Streamed through deflate row by row would be slow; one zeroed buffer of every row is 900 MB, so compress a
  // few rows and declare the rest missing: the header alone must get the file refused.
  const rows = deflateSync(Buffer.alloc(row * 16), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', rows), chunk('IEND', Buffer.alloc(0))]);
}

/** A PNG that really decodes to `side`² pixels of one colour: a few KB on the wire. */
export async function bigPlainPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}
