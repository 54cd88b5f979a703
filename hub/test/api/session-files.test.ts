import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import type { SeriesReadings } from '@pulsebridge/protocol';
import type { SessionView } from '../../src/api/sessions-schemas.ts';
import { DocumentStoreError } from '../../src/documents/document-store.ts';
import { BINDINGS } from '../../src/domain/pairing/collections.ts';
import { SESSIONS, type SessionDoc } from '../../src/domain/sessions/collections.ts';
import { completeSession, sessionStreams, startPersonalSession } from '../../src/domain/sessions/sessions.ts';
import { detectWorkoutFormat, exportWorkout, type WorkoutFormat } from '../../src/files/index.ts';
import type { Streams } from '../../src/results/streams.ts';
import { NOW, readProblem, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';

const GYM = 'riverside';
const SECONDS = 600;
/** Heart rate is missing for these seconds: longer than the interpolated gap, so the streams hold nulls there. */
const HEART_RATE_GAP = [200, 220] as const;

/** The API with two athletes whose profiles give heart-rate zones and calories, so every result is computed. */
async function withAthletes(use: (api: RunningApi) => Promise<void>): Promise<void> {
  const verifier = new FixedTokens({});
  await withApi({ verifier }, async (api) => {
    const { identity } = api.deps.domain;
    for (const [token, name] of [
      ['athlete', 'Ann'],
      ['other', 'Bob'],
    ] as const) {
      const user = await identity.createUser({ email: `${token}@example.org`, displayName: name });
      await identity.saveProfile(user.id, { maxHeartRate: 188, birthDate: '1988-06-01', sex: 'female', weightKg: 64, resultsVisibility: 'friends', boardVisibility: 'name' });
      verifier.set(token, principal([{ gym: GYM, role: 'athlete' }], { subject: user.id }));
      athletes[token] = user.id;
    }
    await use(api);
  });
}
const athletes: Record<'athlete' | 'other', string> = { athlete: '', other: '' };

function send(
  api: RunningApi,
  token: string,
  path: string,
  init: { method?: string; body?: Uint8Array; contentType?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${token}`, ...(init.contentType ? { 'Content-Type': init.contentType } : {}), ...init.headers },
    ...(init.body ? { body: init.body } : {}),
    signal: AbortSignal.timeout(30_000),
  });
}

const importFile = (api: RunningApi, bytes: Uint8Array, contentType = 'application/octet-stream', query = '') =>
  send(api, 'athlete', `/api/v1/me/sessions/import${query}`, { method: 'POST', body: bytes, contentType });

function series(metric: string, value: (second: number) => number | undefined): SeriesReadings {
  const ts: number[] = [];
  const values: number[] = [];
  for (let second = 0; second < SECONDS; second++) {
    const v = value(second);
    if (v === undefined) continue;
    ts.push(NOW + second * 1000);
    values.push(v);
  }
  return { sensor: 'watch-1', metric, ts, values } as SeriesReadings;
}

/** A ten-minute ride, every metric read by the athlete's watch (bound to them), completed as a personal session. */
async function recordedSession(api: RunningApi): Promise<SessionDoc> {
  const { domain } = api.deps;
  await domain.documents
    .collection(BINDINGS)
    .insert({ id: 'binding-1', gym: GYM, sensor: 'watch-1', athlete: athletes.athlete, active: true, from: NOW - 60_000, kind: 'own', createdBy: athletes.athlete });
  let distance = 0;
  const distances = Array.from({ length: SECONDS }, (_, second) => (distance += 7 + (second % 3) * 0.5));
  await domain.series.write([
    {
      gym: GYM,
      agent: 'phone',
      series: [
        series('heart_rate', (s) => (s >= HEART_RATE_GAP[0] && s < HEART_RATE_GAP[1] ? undefined : 110 + Math.round(40 * Math.sin(s / 60)))),
        series('power', (s) => 180 + (s % 40)),
        series('cadence', (s) => 80 + (s % 11)),
        series('speed', (s) => 7 + (s % 3) * 0.5),
        series('distance', (s) => Number(distances[s]!.toFixed(1))),
        series('altitude', (s) => Number((420 + s * 0.3).toFixed(1))),
        series('latitude', (s) => Number((46.5 + s * 0.00006).toFixed(7))),
        series('longitude', (s) => Number((6.6 + s * 0.00004).toFixed(7))),
      ],
    },
  ]);
  const live = await startPersonalSession(domain, { athlete: athletes.athlete, gym: GYM, name: 'Lunch ride', sport: 'cycling' });
  const completed = await completeSession(domain, live.id, NOW + SECONDS * 1000);
  assert.ok(completed);
  return completed;
}

/** What each format keeps of a session's streams, and how closely (its resolution). */
const KEPT: Record<WorkoutFormat, Partial<Record<keyof Omit<Streams, 'time'>, number>>> = {
  fit: { heartrate: 0, watts: 0, cadence: 0, velocity: 0.001, distance: 0.01, altitude: 0.2, latlng: 1e-6 },
  tcx: { heartrate: 0, watts: 0, cadence: 0, velocity: 0.001, distance: 0.01, altitude: 0.01, latlng: 1e-7 },
  gpx: { heartrate: 0, cadence: 0, altitude: 0.01, latlng: 1e-7 },
};

function assertSameStreams(actual: Streams, expected: Streams, format: WorkoutFormat): void {
  assert.deepEqual(actual.time, expected.time, 'time');
  for (const name of ['heartrate', 'watts', 'cadence', 'velocity', 'distance', 'altitude', 'latlng'] as const) {
    const tolerance = KEPT[format][name];
    if (tolerance === undefined) {
      assert.equal(actual[name], undefined, `${format} does not keep ${name}`);
      continue;
    }
    const want = expected[name]!;
    const got = actual[name];
    assert.ok(got, `${format} keeps ${name}`);
    assert.equal(got.length, want.length, `${name} length`);
    want.forEach((value, second) => {
      const have = got[second];
      if (value === null) return assert.equal(have, null, `${name} at ${second} is null`);
      const pairs = Array.isArray(value) ? value.map((v, i) => [(have as number[])[i]!, v]) : [[have as number, value]];
      for (const [g, w] of pairs) assert.ok(Math.abs(g! - w!) <= tolerance + 1e-9, `${format} ${name} at ${second}: ${String(have)} vs ${String(value)}`);
    });
  }
}

/** Results within a relative 1% (rounding in the file moves a best-effort time by a fraction of a second). */
function assertCloseResults(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'number') {
    assert.equal(typeof actual, 'number', path);
    assert.ok(Math.abs((actual as number) - expected) <= Math.max(0.5, Math.abs(expected) * 0.01), `${path}: ${String(actual)} vs ${expected}`);
  } else if (expected !== null && typeof expected === 'object') {
    assert.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), path);
    for (const [key, value] of Object.entries(expected)) assertCloseResults((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
  } else {
    assert.deepEqual(actual, expected, path);
  }
}

describe('workout files through the API', () => {
  for (const format of ['fit', 'tcx', 'gpx'] as const) {
    it(`a session exported as ${format.toUpperCase()} imports to the same streams and results`, async () => {
      await withAthletes(async (api) => {
        const original = await recordedSession(api);
        const domain = api.deps.domain;
        const originalStreams = await sessionStreams(domain, original);
        assert.equal(originalStreams.time.length, SECONDS);
        assert.equal(originalStreams.heartrate![HEART_RATE_GAP[0] + 5], null, 'the gap stays a gap');

        const exported = await send(api, 'athlete', `/api/v1/me/sessions/${original.id}/export?format=${format}`);
        assert.equal(exported.status, 200);
        assert.match(
          exported.headers.get('content-type') ?? '',
          format === 'fit' ? /application\/vnd\.ant\.fit/ : format === 'gpx' ? /application\/gpx\+xml/ : /application\/vnd\.garmin\.tcx\+xml/,
        );
        assert.equal(exported.headers.get('content-disposition'), `attachment; filename="${original.id}.${format}"`);
        const bytes = new Uint8Array(await exported.arrayBuffer());
        assert.equal(detectWorkoutFormat(bytes), format);

        const imported = await importFile(api, bytes, 'application/octet-stream', `?name=ride.${format}`);
        assert.equal(imported.status, 201, await imported.clone().text());
        const view = (await imported.json()) as SessionView;
        assert.equal(view.kind, 'imported');
        assert.equal(view.state, 'completed');
        assert.equal(view.gym, undefined);
        assert.equal(view.athlete, athletes.athlete);
        assert.equal(view.sport, 'cycling');
        assert.equal(view.revision, 1);
        assert.equal(view.startedAt, new Date(NOW).toISOString());
        assert.equal(view.endedAt, new Date(NOW + SECONDS * 1000).toISOString());
        assert.deepEqual(view.source, { format, fileName: `ride.${format}` });

        const stored = await domain.documents.collection(SESSIONS).get(view.id);
        assert.ok(stored);
        assertSameStreams(await sessionStreams(domain, stored), originalStreams, format);
        const originalResults = original.results as Record<string, unknown>;
        assert.ok(originalResults['heartRate'] && (originalResults['calories'] as { kcal?: number }).kcal, 'the profile gives zones and calories');
        if (format === 'gpx') {
          // GPX keeps no power, speed or distance: the heart-rate results are the ones to match.
          assertCloseResults(view.results!.durationS, originalResults['durationS'], 'durationS');
          assertCloseResults(view.results!.heartRate, originalResults['heartRate'], 'heartRate');
        } else {
          assertCloseResults(view.results, originalResults, 'results');
        }
      });
    });
  }

  it('the file name comes from Content-Disposition before ?name, without any directory', async () => {
    await withAthletes(async (api) => {
      const bytes = exportWorkout(
        {
          sport: 'running',
          startTime: NOW,
          samples: [
            { t: 0, heartrate: 100 },
            { t: 1000, heartrate: 101 },
          ],
        },
        'tcx',
      );
      const response = await send(api, 'athlete', '/api/v1/me/sessions/import?name=ignored.tcx', {
        method: 'POST',
        body: bytes,
        contentType: 'application/vnd.garmin.tcx+xml',
        headers: { 'Content-Disposition': 'attachment; filename="C:\\\\watch\\\\Morning run.tcx"' },
      });
      assert.equal(response.status, 201);
      const view = (await response.json()) as SessionView;
      assert.deepEqual(view.source, { format: 'tcx', fileName: 'Morning run.tcx' });
      assert.equal(view.name, 'Morning run.tcx');
      assert.equal(view.sport, 'running');
    });
  });

  it('the same file imported twice is refused with 409 naming the first session; another athlete may import it', async () => {
    await withAthletes(async (api) => {
      const bytes = exportWorkout({ sport: 'running', startTime: NOW, samples: [{ t: 0, heartrate: 100 }] }, 'fit');
      const first = await importFile(api, bytes);
      assert.equal(first.status, 201);
      const { id } = (await first.json()) as SessionView;
      const again = await importFile(api, bytes);
      assert.equal(again.status, 409);
      assert.match((await readProblem(again)).detail, new RegExp(`imported already, as session ${id}`));
      const theirs = await send(api, 'other', '/api/v1/me/sessions/import', { method: 'POST', body: bytes, contentType: 'application/vnd.ant.fit' });
      assert.equal(theirs.status, 201);
      // Two imports racing both pass the lookup; the unique index lets one session in.
      const sessions = api.deps.domain.documents.collection(SESSIONS);
      const stored = (await sessions.get(id))!;
      await assert.rejects(sessions.insert({ ...stored, id: 'racing-import' }), (error: unknown) => error instanceof DocumentStoreError && error.code === 'conflict');
    });
  });

  it('bad files are refused with a problem naming why, and nothing is stored', async () => {
    await withAthletes(async (api) => {
      const workout = { sport: 'running' as const, startTime: NOW, samples: Array.from({ length: 300 }, (_, s) => ({ t: s * 1000, heartrate: 120, lat: 46 + s * 1e-5, lon: 6 })) };
      const fit = exportWorkout(workout, 'fit');
      const gpx = exportWorkout(workout, 'gpx');
      const flipped = Uint8Array.from(fit);
      for (let i = 40; i < flipped.length; i += 7) flipped[i] = flipped[i]! ^ 0x5a;
      const random = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251);
      const tooMany = exportWorkout({ sport: 'generic', startTime: NOW, samples: Array.from({ length: 200_001 }, (_, s) => ({ t: s * 1000 })) }, 'fit');
      const noSamples = exportWorkout({ sport: 'generic', startTime: NOW, samples: [] }, 'tcx');
      const cases: { what: string; bytes: Uint8Array; contentType?: string; status: number; detail: RegExp }[] = [
        { what: 'a corrupt FIT', bytes: flipped, status: 400, detail: /corrupt or truncated file: .*invalid_crc/ },
        { what: 'a truncated FIT', bytes: fit.subarray(0, fit.length / 2), status: 400, detail: /corrupt or truncated file/ },
        {
          what: 'a truncated GPX',
          bytes: gpx.subarray(0, gpx.length / 2),
          contentType: 'application/gpx+xml',
          status: 400,
          detail: /corrupt or truncated file: the XML is not well formed/,
        },
        { what: 'random bytes', bytes: random, status: 415, detail: /neither FIT, GPX nor TCX/ },
        {
          what: 'XML of another kind',
          bytes: new TextEncoder().encode('<?xml version="1.0"?><kml></kml>'),
          contentType: 'text/xml',
          status: 415,
          detail: /neither FIT, GPX nor TCX/,
        },
        { what: 'an empty body', bytes: new Uint8Array(0), status: 400, detail: /is empty/ },
        { what: 'too many samples', bytes: tooMany, status: 400, detail: /too many samples: the file holds more than 200000 samples/ },
        { what: 'a file without samples', bytes: noSamples, status: 400, detail: /holds no samples/ },
        { what: 'a file as JSON', bytes: fit, contentType: 'application/json', status: 400, detail: /must be application\/octet-stream/ },
      ];
      for (const { what, bytes, contentType, status, detail } of cases) {
        const response = await importFile(api, bytes, contentType);
        assert.equal(response.status, status, what);
        const problem = await readProblem(response);
        assert.equal(problem.param, 'body', what);
        assert.match(problem.detail, detail, what);
      }
      assert.equal(await api.deps.domain.documents.collection(SESSIONS).count({}), 0);
    });
  });

  it('a body over 25 MiB is refused with 413 before it is read whole, whether declared or streamed', async () => {
    await withAthletes(async (api) => {
      const url = new URL('/api/v1/me/sessions/import', api.url);
      const limit = 25 * 1024 * 1024;
      /** Sends `chunk` until the answer comes (or `declared` bytes were announced and the server stops reading); returns the status and bytes sent. */
      const upload = (declared: number | undefined) =>
        new Promise<{ status: number; sent: number; body: string }>((resolve, reject) => {
          const headers: Record<string, string> = { Authorization: 'Bearer athlete', 'Content-Type': 'application/vnd.ant.fit' };
          if (declared !== undefined) headers['Content-Length'] = String(declared);
          const req = request(url, { method: 'POST', headers });
          let sent = 0;
          let answered = false;
          const chunk = Buffer.alloc(256 * 1024, 7);
          req.on('response', (response) => {
            answered = true;
            let body = '';
            response.setEncoding('utf8');
            response.on('data', (text: string) => (body += text));
            response.on('end', () => {
              resolve({ status: response.statusCode ?? 0, sent, body });
              req.destroy();
            });
          });
          req.on('error', (error) => (answered ? undefined : reject(error)));
          const pump = (): void => {
            // Never more than four times the limit: a server reading it all would be caught by the assertion below.
            while (!answered && sent < 4 * limit && (declared === undefined || sent < declared)) {
              sent += chunk.length;
              if (!req.write(chunk)) return void req.once('drain', pump);
            }
          };
          pump();
        });
      const declared = await upload(10 * 1024 * 1024 * 1024);
      assert.equal(declared.status, 413);
      assert.match(declared.body, /larger than 26214400 bytes/);
      assert.ok(declared.sent < limit, `refused on its declared length, after ${declared.sent} bytes`);
      const streamed = await upload(undefined);
      assert.equal(streamed.status, 413);
      assert.ok(streamed.sent < 2 * limit, `refused after ${streamed.sent} bytes`);
    });
  });

  it("another athlete's session is 404, a bad format 400, and a session without readings still gives a file", async () => {
    await withAthletes(async (api) => {
      const domain = api.deps.domain;
      const live = await startPersonalSession(domain, { athlete: athletes.athlete, gym: GYM, name: 'Nothing worn', sport: 'training' });
      await completeSession(domain, live.id, NOW + 60_000);
      const theirs = await send(api, 'other', `/api/v1/me/sessions/${live.id}/export?format=fit`);
      assert.equal(theirs.status, 404);
      assert.match((await readProblem(theirs)).detail, /no session/);
      const missing = await send(api, 'athlete', '/api/v1/me/sessions/no-such-session/export?format=fit');
      assert.equal(missing.status, 404);
      const badFormat = await send(api, 'athlete', `/api/v1/me/sessions/${live.id}/export?format=kml`);
      assert.equal(badFormat.status, 400);
      assert.equal((await readProblem(badFormat)).param, 'format');
      for (const format of ['fit', 'gpx', 'tcx'] as const) {
        const response = await send(api, 'athlete', `/api/v1/me/sessions/${live.id}/export?format=${format}`);
        assert.equal(response.status, 200, format);
        assert.equal(detectWorkoutFormat(new Uint8Array(await response.arrayBuffer())), format);
      }
    });
  });
});
