/**
 * "My data": everything the hub keeps about one user, as one zip archive. The archive is streamed as it is
 * built (an async iterable of zip chunks), never held whole: a user with years of sessions has thousands of
 * FIT files, and a bound on the archive's size would refuse exactly the users who need the export most.
 * Memory stays bounded by one page of documents and one session's streams: the zip writer (fflate) emits a
 * file's bytes as soon as it is the file being written, so files are added one after the other, each closed
 * before the next (sessions are read twice: once for sessions.json, once for their files).
 */
import { Zip, ZipDeflate } from 'fflate';
import { sessionView } from '../api/sessions-schemas.ts';
import { pageAfter, type CollectionSpec, type Where, type DocumentOf, MAX_FIND } from '../documents/document-store.ts';
import { exportWorkout } from '../files/index.ts';
import { streamsToWorkout } from '../files/session-workout.ts';
import { BOOKINGS } from './classes/collections.ts';
import type { Domain } from './domain.ts';
import { BINDINGS } from './pairing/collections.ts';
import { SESSIONS } from './sessions/collections.ts';
import { sessionStreams } from './sessions/sessions.ts';
import { FRIENDSHIPS, GROUPS, GROUP_MEMBERS } from './social/collections.ts';

/** The file names of the archive besides the sessions' own files (sessions/<id>.fit and sessions/<id>.json). */
export const MY_DATA_FILES = ['account.json', 'profile.json', 'memberships.json', 'bookings.json', 'bindings.json', 'friends.json', 'groups.json', 'sessions.json'] as const;

type Doc<S extends CollectionSpec> = DocumentOf<S['schema']>;

/** Every document of `spec` matching `where`, page by page (a find returns at most MAX_FIND). */
async function* pagesOf<S extends CollectionSpec>(domain: Domain, spec: S, where: Where, orderBy: readonly string[]): AsyncGenerator<Doc<S>[]> {
  const collection = domain.documents.collection(spec);
  let after: ReturnType<typeof pageAfter> | undefined;
  for (;;) {
    const page = (await collection.find(where, { orderBy, limit: MAX_FIND, ...(after === undefined ? {} : { after }) })) as Doc<S>[];
    if (page.length > 0) yield page;
    if (page.length < MAX_FIND) return;
    after = pageAfter(page.at(-1)!, orderBy);
  }
}

async function* mapPages<T, U>(pages: AsyncIterable<T[]>, map: (item: T) => U | Promise<U>): AsyncGenerator<U[]> {
  for await (const page of pages) yield await Promise.all(page.map(map));
}

async function* concatPages<T>(...sources: AsyncIterable<T[]>[]): AsyncGenerator<T[]> {
  for (const source of sources) yield* source;
}

/** The zip writer, and the chunks it has written since they were last taken. */
class ArchiveWriter {
  private readonly written: Uint8Array[] = [];
  private failure: Error | undefined;
  private readonly zip = new Zip((error, chunk) => {
    if (error) this.failure = error;
    else this.written.push(chunk);
  });
  private readonly encoder = new TextEncoder();

  /** Opens a file; write to it with the returned function, the last call with `final` true. */
  open(name: string): (data: Uint8Array | string, final?: boolean) => void {
    const file = new ZipDeflate(name, { level: 6 });
    this.zip.add(file);
    return (data, final = false) => file.push(typeof data === 'string' ? this.encoder.encode(data) : data, final);
  }

  end(): void {
    this.zip.end();
  }

  /** The bytes written so far; throws what the zip writer failed with. */
  take(): Uint8Array[] {
    if (this.failure) throw this.failure;
    return this.written.splice(0);
  }
}

/** A JSON array written item by item, so a list of any length never sits whole in memory. */
async function* jsonArrayFile<T>(archive: ArchiveWriter, name: string, pages: AsyncIterable<T[]>): AsyncGenerator<Uint8Array> {
  const write = archive.open(name);
  let first = true;
  write('[');
  for await (const page of pages) {
    for (const item of page) {
      write(`${first ? '\n' : ',\n'}${JSON.stringify(item)}`);
      first = false;
    }
    yield* archive.take();
  }
  write(first ? ']\n' : '\n]\n', true);
  yield* archive.take();
}

function jsonFile(archive: ArchiveWriter, name: string, value: unknown): Uint8Array[] {
  archive.open(name)(`${JSON.stringify(value, null, 2)}\n`, true);
  return archive.take();
}

/** The zip archive of everything kept about `user`, chunk by chunk (see the file's comment). */
export async function* myDataArchive(domain: Domain, user: string): AsyncGenerator<Uint8Array> {
  const archive = new ArchiveWriter();
  const { identity } = domain;
  // The account as the user sees it: no password hash, TOTP secret, recovery codes or tokens (kept elsewhere).
  const account = await identity.getUser(user);
  yield* jsonFile(archive, 'account.json', account === undefined ? null : { ...account, createdAt: new Date(account.createdAt).toISOString() });
  yield* jsonFile(archive, 'profile.json', (await identity.getProfile(user)) ?? null);
  yield* jsonFile(archive, 'memberships.json', await identity.listMembershipsOfUser(user));
  yield* jsonArrayFile(archive, 'bookings.json', pagesOf(domain, BOOKINGS, { user }, ['start']));
  yield* jsonArrayFile(archive, 'bindings.json', pagesOf(domain, BINDINGS, { athlete: user }, ['from']));
  // A friendship is stored once for the pair, under the lower and the higher user id.
  yield* jsonArrayFile(archive, 'friends.json', concatPages(pagesOf(domain, FRIENDSHIPS, { low: user }, []), pagesOf(domain, FRIENDSHIPS, { high: user }, [])));
  const groups = domain.documents.collection(GROUPS);
  yield* jsonArrayFile(
    archive,
    'groups.json',
    mapPages(pagesOf(domain, GROUP_MEMBERS, { user }, []), async (membership) => ({ membership, group: (await groups.get(membership.group)) ?? null })),
  );
  const sessions = (): AsyncGenerator<Doc<typeof SESSIONS>[]> => pagesOf(domain, SESSIONS, { athlete: user }, ['startedAt']);
  yield* jsonArrayFile(archive, 'sessions.json', mapPages(sessions(), sessionView));
  for await (const page of sessions()) {
    for (const session of page) {
      const streams = await sessionStreams(domain, session);
      archive.open(`sessions/${session.id}.fit`)(exportWorkout(streamsToWorkout(streams, session.startedAt, session.sport), 'fit'), true);
      yield* archive.take();
      archive.open(`sessions/${session.id}.json`)(JSON.stringify(streams), true);
      yield* archive.take();
    }
  }
  archive.end();
  yield* archive.take();
}
