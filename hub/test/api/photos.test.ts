import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import sharp from 'sharp';
import { PHOTOS } from '../../src/domain/photos/collections.ts';
import { MAX_UPLOAD_BYTES } from '../../src/images/config.ts';
import { MAX_EQUIPMENT_PHOTOS } from '../../src/api/photos-routes.ts';
import { readProblem, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';
import { insertEquipment, jpegWithExif, png, pngBomb } from '../images/photo-fixtures.ts';

interface PhotoJson {
  id: string;
  ownerKind: string;
  ownerId: string;
  contentType: string;
  width: number;
  height: number;
  bytes: number;
  variants: { name: string; width: number; height: number; url: string }[];
  createdAt: string;
}

const GYM = 'riverside';
const tokens = () =>
  new FixedTokens({
    admin: principal([{ gym: GYM, role: 'gym_admin' }], { subject: 'admin-1' }),
    athlete: principal([{ gym: GYM, role: 'athlete' }], { subject: 'athlete-1' }),
    other: principal([{ gym: GYM, role: 'athlete' }], { subject: 'athlete-2' }),
  });

async function send(
  api: RunningApi,
  token: string,
  method: string,
  path: string,
  upload?: { type: string; bytes: Buffer },
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(upload ? { 'Content-Type': upload.type } : {}), ...headers },
    ...(upload ? { body: upload.bytes } : {}),
    signal: AbortSignal.timeout(10_000),
  });
}

async function withPhotos(use: (api: RunningApi) => Promise<void>): Promise<void> {
  await withApi({ verifier: tokens() }, async (api) => {
    await insertEquipment(api.deps.domain, 'bike-1', GYM);
    await insertEquipment(api.deps.domain, 'bike-2', GYM);
    await use(api);
  });
}

test('an uploaded JPEG is stored without its EXIF, with thumbnails, and its variants are served cacheably', async () => {
  await withPhotos(async (api) => {
    const input = await jpegWithExif({ width: 1600, height: 1200 });
    const created = await send(api, 'admin', 'POST', '/api/v1/equipment/bike-1/photos', { type: 'image/jpeg', bytes: input });
    assert.equal(created.status, 201);
    const photo = (await created.json()) as PhotoJson;
    assert.equal(photo.ownerKind, 'equipment');
    assert.equal(photo.ownerId, 'bike-1');
    assert.equal(photo.contentType, 'image/webp');
    assert.deepEqual([photo.width, photo.height], [1600, 1200]);
    assert.deepEqual(
      photo.variants.map((v) => [v.name, v.width, v.height, v.url]),
      [
        ['original', 1600, 1200, `/api/v1/equipment/bike-1/photos/${photo.id}/original`],
        ['thumb-1024', 1024, 768, `/api/v1/equipment/bike-1/photos/${photo.id}/thumb-1024`],
        ['thumb-256', 256, 192, `/api/v1/equipment/bike-1/photos/${photo.id}/thumb-256`],
      ],
    );
    for (const variant of photo.variants) {
      // Any member of the gym sees the equipment's photos.
      const response = await send(api, 'athlete', 'GET', variant.url);
      assert.equal(response.status, 200, variant.name);
      assert.equal(response.headers.get('content-type'), 'image/webp');
      assert.equal(response.headers.get('cache-control'), 'private, max-age=31536000, immutable');
      const etag = response.headers.get('etag');
      assert.equal(etag, `"${photo.id}.${variant.name}"`);
      const bytes = Buffer.from(await response.arrayBuffer());
      if (variant.name === 'original') assert.equal(bytes.length, photo.bytes);
      assert.ok(!bytes.includes('LeakyCam'), variant.name);
      const stored = await sharp(bytes).metadata();
      assert.equal(stored.exif, undefined, variant.name);
      assert.deepEqual([stored.width, stored.height], [variant.width, variant.height]);
      // fetch adds Cache-Control: no-cache to a conditional request unless it has one, and that header defeats If-None-Match.
      const again = await send(api, 'athlete', 'GET', variant.url, undefined, { 'If-None-Match': etag!, 'Cache-Control': 'max-age=0' });
      assert.equal(again.status, 304, variant.name);
    }
    const list = await send(api, 'athlete', 'GET', '/api/v1/equipment/bike-1/photos');
    assert.equal(list.status, 200);
    assert.deepEqual(((await list.json()) as { items: PhotoJson[] }).items, [photo]);
    // The photo belongs to bike-1: another machine's path does not reach it.
    assert.equal((await send(api, 'athlete', 'GET', `/api/v1/equipment/bike-2/photos/${photo.id}/original`)).status, 404);
    assert.equal((await send(api, 'athlete', 'GET', `/api/v1/equipment/bike-1/photos/${photo.id}/huge`)).status, 400);
  });
});

test('the real type wins over the declared one: a PNG declared as JPEG is taken as PNG, text or a truncated JPEG declared as JPEG are refused with 415', async () => {
  await withPhotos(async (api) => {
    const accepted = await send(api, 'admin', 'POST', '/api/v1/equipment/bike-1/photos', { type: 'image/jpeg', bytes: await png(120, 80) });
    assert.equal(accepted.status, 201);
    assert.deepEqual([((await accepted.json()) as PhotoJson).width], [120]);
    const jpeg = await jpegWithExif({ width: 600, height: 400 });
    for (const [what, bytes] of [
      ['text', Buffer.from('<html>not a photo</html>')],
      ['truncated JPEG', jpeg.subarray(0, jpeg.length >> 1)],
    ] as const) {
      const refused = await send(api, 'admin', 'POST', '/api/v1/equipment/bike-1/photos', { type: 'image/jpeg', bytes });
      assert.equal(refused.status, 415, what);
      assert.equal((await readProblem(refused)).param, 'body');
    }
    // A type outside the list is refused before anything is read.
    assert.equal((await send(api, 'admin', 'POST', '/api/v1/equipment/bike-1/photos', { type: 'text/plain', bytes: Buffer.from('hi') })).status, 400);
    const docs = await api.deps.domain.documents.collection(PHOTOS).find({});
    assert.equal(docs.length, 1, 'only the PNG was recorded');
  });
});

/**
 * Sends up to `total` bytes in 64 KiB chunks, one after the other, until the answer comes; `declaredThenWait`
 * declares all of them in Content-Length, sends one chunk and waits. Returns how much was written.
 */
function upload(api: RunningApi, total: number, declaredThenWait: boolean, equipment = 'bike-1'): Promise<{ status: number; written: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { Authorization: 'Bearer admin', 'Content-Type': 'image/jpeg' };
    if (declaredThenWait) headers['Content-Length'] = total;
    let written = 0;
    let answered = false;
    const req = request(`${api.url}/api/v1/equipment/${equipment}/photos`, { method: 'POST', headers, signal: AbortSignal.timeout(10_000) }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => (body += text));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, written, body });
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024, 0xab);
    const next = (): void => {
      if (answered) return;
      if (written >= total) {
        req.end();
        return;
      }
      written += chunk.length;
      // Each chunk waits for the one before to be flushed, so that the answer is seen as soon as it comes.
      req.write(chunk, () => {
        if (!declaredThenWait) setImmediate(next);
      });
    };
    next();
  });
}

test('an upload over the limit is refused with 413 without being read to its end: by its Content-Length, or as it streams', async () => {
  await withPhotos(async (api) => {
    const total = 4 * MAX_UPLOAD_BYTES;
    const declared = await upload(api, total, true);
    assert.equal(declared.status, 413);
    assert.match(declared.body, /larger than 10485760 bytes/);
    assert.equal(declared.written, 64 * 1024, 'refused from the Content-Length, before the body came');
    const streamed = await upload(api, total, false);
    assert.equal(streamed.status, 413);
    assert.ok(streamed.written < 2 * MAX_UPLOAD_BYTES, `refused while streaming, after ${streamed.written} of ${total} bytes`);
  });
});

test("an upload to another gym's equipment is answered 404 before its body is read", async () => {
  await withPhotos(async (api) => {
    await insertEquipment(api.deps.domain, 'bike-elsewhere', 'elsewhere');
    const refused = await upload(api, MAX_UPLOAD_BYTES, true, 'bike-elsewhere');
    assert.equal(refused.status, 404);
    assert.equal(refused.written, 64 * 1024, 'answered from the path, before the body came');
  });
});

test('a decompression bomb is refused with 413 and the hub’s memory stays bounded', async () => {
  await withPhotos(async (api) => {
    const rss = process.memoryUsage().rss;
    const refused = await send(api, 'admin', 'POST', '/api/v1/equipment/bike-1/photos', { type: 'image/png', bytes: pngBomb(30_000) });
    assert.equal(refused.status, 413);
    assert.match((await readProblem(refused)).detail, /30000x30000 pixels/);
    assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024, 'memory grew by less than 64 MB');
    assert.equal(await api.deps.domain.documents.collection(PHOTOS).count({}), 0);
  });
});

test('only gym admins add or remove equipment photos; removing one removes its files', async () => {
  await withPhotos(async (api) => {
    const bytes = await png(64, 64);
    assert.equal((await send(api, 'athlete', 'POST', '/api/v1/equipment/bike-1/photos', { type: 'image/png', bytes })).status, 403);
    assert.equal((await send(api, 'admin', 'POST', '/api/v1/equipment/no-such-bike/photos', { type: 'image/png', bytes })).status, 404);
    const photo = (await (await send(api, 'admin', 'POST', '/api/v1/equipment/bike-1/photos', { type: 'image/png', bytes })).json()) as PhotoJson;
    assert.equal((await send(api, 'athlete', 'DELETE', `/api/v1/equipment/bike-1/photos/${photo.id}`)).status, 403);
    assert.equal((await send(api, 'admin', 'DELETE', `/api/v1/equipment/bike-2/photos/${photo.id}`)).status, 404);
    const removed = await send(api, 'admin', 'DELETE', `/api/v1/equipment/bike-1/photos/${photo.id}`);
    assert.equal(removed.status, 200);
    assert.equal(((await removed.json()) as PhotoJson).id, photo.id);
    assert.equal(await api.deps.domain.images.get(photo.id, 'original'), undefined);
    assert.equal((await send(api, 'athlete', 'GET', `/api/v1/equipment/bike-1/photos/${photo.id}/thumb-256`)).status, 404);
    assert.equal((await send(api, 'admin', 'DELETE', `/api/v1/equipment/bike-1/photos/${photo.id}`)).status, 404);
  });
});

test('a piece of equipment takes a bounded number of photos, listed in pages oldest first', async () => {
  await withPhotos(async (api) => {
    const photos = api.deps.domain.documents.collection(PHOTOS);
    for (let i = 0; i < MAX_EQUIPMENT_PHOTOS; i++) {
      await photos.insert({
        id: `p${String(i).padStart(2, '0')}`,
        gym: GYM,
        ownerKind: 'equipment',
        ownerId: 'bike-1',
        contentType: 'image/webp',
        width: 1,
        height: 1,
        bytes: 1,
        variants: [],
        createdAt: i,
      });
    }
    const full = await send(api, 'admin', 'POST', '/api/v1/equipment/bike-1/photos', { type: 'image/png', bytes: await png(32, 32) });
    assert.equal(full.status, 409);
    const first = (await (await send(api, 'athlete', 'GET', '/api/v1/equipment/bike-1/photos?limit=15')).json()) as { items: PhotoJson[]; next: string };
    assert.deepEqual(first.items.map((p) => p.id).slice(0, 2), ['p00', 'p01']);
    const second = (await (await send(api, 'athlete', 'GET', first.next)).json()) as { items: PhotoJson[]; next?: string };
    assert.equal(second.items.length, 5);
    assert.equal(second.next, undefined);
    assert.deepEqual(((await (await send(api, 'athlete', 'GET', '/api/v1/equipment/bike-2/photos')).json()) as { items: unknown[] }).items, []);
  });
});

test('an athlete sets, reads, replaces and removes their own profile photo, and never sees another’s', async () => {
  await withPhotos(async (api) => {
    assert.equal((await send(api, 'athlete', 'GET', '/api/v1/me/photo/original')).status, 404);
    const put = await send(api, 'athlete', 'PUT', '/api/v1/me/photo', { type: 'image/jpeg', bytes: await jpegWithExif({ width: 900, height: 600, orientation: 8 }) });
    assert.equal(put.status, 200);
    const first = (await put.json()) as PhotoJson;
    assert.equal(first.ownerKind, 'profile');
    assert.equal(first.ownerId, 'athlete-1');
    assert.deepEqual([first.width, first.height], [600, 900]);
    assert.equal(first.variants[2]!.url, '/api/v1/me/photo/thumb-256');
    const served = await send(api, 'athlete', 'GET', '/api/v1/me/photo/thumb-256');
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('cache-control'), 'private, no-cache');
    const etag = served.headers.get('etag')!;
    assert.ok(!Buffer.from(await served.arrayBuffer()).includes('LeakyCam'));
    const unchanged = await send(api, 'athlete', 'GET', '/api/v1/me/photo/thumb-256', undefined, { 'If-None-Match': etag, 'Cache-Control': 'max-age=0' });
    assert.equal(unchanged.status, 304);
    assert.equal((await send(api, 'other', 'GET', '/api/v1/me/photo/thumb-256')).status, 404, 'another athlete has none of their own');

    const replaced = (await (await send(api, 'athlete', 'PUT', '/api/v1/me/photo', { type: 'image/png', bytes: await png(50, 50) })).json()) as PhotoJson;
    assert.notEqual(replaced.id, first.id);
    assert.equal(await api.deps.domain.images.get(first.id, 'original'), undefined, 'the old files are gone');
    const revalidated = await send(api, 'athlete', 'GET', '/api/v1/me/photo/thumb-256', undefined, { 'If-None-Match': etag, 'Cache-Control': 'max-age=0' });
    assert.equal(revalidated.status, 200, 'the old ETag no longer matches');
    assert.equal(await api.deps.domain.documents.collection(PHOTOS).count({ ownerKind: 'profile', ownerId: 'athlete-1' }), 1);

    const bomb = await send(api, 'athlete', 'PUT', '/api/v1/me/photo', { type: 'image/png', bytes: pngBomb(30_000) });
    assert.equal(bomb.status, 413);
    assert.equal((await send(api, 'athlete', 'GET', '/api/v1/me/photo/original')).status, 200, 'a refused upload leaves the photo as it was');

    const removed = await send(api, 'athlete', 'DELETE', '/api/v1/me/photo');
    assert.equal(removed.status, 200);
    assert.equal(((await removed.json()) as PhotoJson).id, replaced.id);
    assert.equal((await send(api, 'athlete', 'GET', '/api/v1/me/photo/original')).status, 404);
    assert.equal((await send(api, 'athlete', 'DELETE', '/api/v1/me/photo')).status, 404);
  });
});
