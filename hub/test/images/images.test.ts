import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { ApiError } from '../../src/api/problem.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../src/images/config.ts';
import { processPhoto, type ProcessedPhoto } from '../../src/images/images.ts';
import { bigPlainPng, jpegWithExif, png, pngBomb } from './photo-fixtures.ts';

const LIMITS = DEFAULT_IMAGE_LIMITS;

async function refusal(work: Promise<unknown>): Promise<ApiError> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof ApiError, `an ApiError, not ${String(err)}`);
    return err;
  }
  assert.fail('the photo was accepted');
}

/** The chunk types of a WebP file (RIFF: fourcc, little-endian size, data padded to an even length). */
function webpChunks(bytes: Buffer): string[] {
  const chunks: string[] = [];
  for (let at = 12; at + 8 <= bytes.length;) {
    const size = bytes.readUInt32LE(at + 4);
    chunks.push(bytes.toString('latin1', at, at + 4));
    at += 8 + size + (size % 2);
  }
  return chunks;
}

const sizes = (photo: ProcessedPhoto) => photo.variants.map((v) => `${v.name} ${v.width}x${v.height}`);

test('a JPEG with EXIF and GPS keeps none of it in any variant, and is turned upright by its orientation', async () => {
  const input = await jpegWithExif({ width: 1600, height: 1200, orientation: 6 });
  const before = await sharp(input).metadata();
  assert.ok(before.exif !== undefined && input.includes('LeakyCam'), 'the fixture carries EXIF');
  assert.equal(before.orientation, 6);

  const photo = await processPhoto(input, LIMITS);
  assert.equal(photo.sourceType, 'image/jpeg');
  assert.equal(photo.contentType, 'image/webp');
  // Orientation 6 is a quarter turn: the 1600x1200 sensor image is a 1200x1600 portrait.
  assert.deepEqual(sizes(photo), ['original 1200x1600', 'thumb-1024 768x1024', 'thumb-256 192x256']);
  for (const variant of photo.variants) {
    const stored = await sharp(variant.data).metadata();
    assert.equal(stored.format, 'webp', variant.name);
    assert.deepEqual([stored.width, stored.height], [variant.width, variant.height], variant.name);
    assert.equal(stored.exif, undefined, `${variant.name}: no EXIF`);
    assert.equal(stored.xmp, undefined, `${variant.name}: no XMP`);
    assert.equal(stored.icc, undefined, `${variant.name}: no ICC profile`);
    assert.equal(stored.orientation, undefined, `${variant.name}: no orientation left to apply`);
    assert.ok(!variant.data.includes('LeakyCam'), `${variant.name}: the camera's name is gone`);
    assert.deepEqual(
      webpChunks(variant.data).filter((c) => ['EXIF', 'XMP ', 'ICCP'].includes(c)),
      [],
      `${variant.name}: no metadata chunk (GPS is in EXIF)`,
    );
  }
});

test('a PNG smaller than the thumbnails is not enlarged, and a WebP is taken too', async () => {
  const fromPng = await processPhoto(await png(320, 200), LIMITS);
  assert.equal(fromPng.sourceType, 'image/png');
  assert.deepEqual(sizes(fromPng), ['original 320x200', 'thumb-1024 320x200', 'thumb-256 256x160']);
  const fromWebp = await processPhoto(
    await sharp(await png(300, 300))
      .webp()
      .toBuffer(),
    LIMITS,
  );
  assert.equal(fromWebp.sourceType, 'image/webp');
  assert.deepEqual(sizes(fromWebp), ['original 300x300', 'thumb-1024 300x300', 'thumb-256 256x256']);
});

test('what is not a JPEG, PNG or WebP by its content, or does not decode completely, is refused as unsupported', async () => {
  const jpeg = await jpegWithExif({ width: 800, height: 600 });
  const gif = await sharp(await png(40, 40))
    .gif()
    .toBuffer();
  const cases: [string, Buffer][] = [
    ['text', Buffer.from('just some words, not a photo at all')],
    ['empty', Buffer.alloc(0)],
    ['GIF', gif],
    ['truncated JPEG', jpeg.subarray(0, Math.floor(jpeg.length * 0.6))],
    ['JPEG magic then garbage', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)])],
    ['PNG magic then garbage', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(2000, 7)])],
  ];
  for (const [what, bytes] of cases) {
    const error = await refusal(processPhoto(bytes, LIMITS));
    assert.equal(error.code, 'unsupported_media_type', what);
    assert.equal(error.status, 415, what);
  }
});

test('an upload over maxUploadBytes is refused as too large', async () => {
  const input = await jpegWithExif({ width: 400, height: 300 });
  const error = await refusal(processPhoto(input, { ...LIMITS, maxUploadBytes: input.length - 1 }));
  assert.equal(error.code, 'payload_too_large');
  assert.match(error.message, new RegExp(`larger than ${input.length - 1} bytes`));
});

test('a decompression bomb (a few hundred bytes declaring 30000x30000) is refused from its header, in bounded memory', async () => {
  const bomb = pngBomb(30_000);
  assert.ok(bomb.length < 4096);
  const rss = process.memoryUsage().rss;
  const started = performance.now();
  const error = await refusal(processPhoto(bomb, LIMITS));
  assert.equal(error.code, 'payload_too_large');
  assert.match(error.message, /30000x30000 pixels \(900 megapixels\); at most 40 megapixels/);
  // Decoding would take 900 MB and seconds; reading the header takes neither.
  assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024, 'memory grew by less than 64 MB');
  assert.ok(performance.now() - started < 2_000);
});

test('a real image over maxPixels is refused as too large, and one at the limit passes', async () => {
  const input = await bigPlainPng(1200, 1000);
  const error = await refusal(processPhoto(input, { ...LIMITS, maxPixels: 1_199_999 }));
  assert.equal(error.code, 'payload_too_large');
  assert.match(error.message, /1200x1000 pixels/);
  const photo = await processPhoto(input, { ...LIMITS, maxPixels: 1_200_000 });
  assert.deepEqual(sizes(photo), ['original 1200x1000', 'thumb-1024 1024x853', 'thumb-256 256x213']);
});
