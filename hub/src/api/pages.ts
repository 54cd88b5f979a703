/**
 * Cursor pages over document collections, one way for every list of the gym domain: `limit` and `cursor` in
 * the query, `items`, `nextCursor` and `next` in the body, and `Link: rel="next"`. A cursor is the sort key of
 * the last item, tied to the list it came from, so reusing it on another list is refused, not misread.
 */
import { createHash } from 'node:crypto';
import { Type, type TSchema } from '@sinclair/typebox';
import { pageAfter, type Collection, type Scalar, type Where } from '../documents/document-store.ts';
import type { ApiContext } from './context.ts';
import { invalidParameter } from './problem.ts';

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;
const MAX_CURSOR_CHARS = 1024;

/** Spread into a list operation's query schema. */
export const PageQueryFields = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, description: `Items per page, default ${DEFAULT_PAGE_LIMIT}` })),
  cursor: Type.Optional(Type.String({ maxLength: MAX_CURSOR_CHARS, description: 'nextCursor of the previous page' })),
};

/** The body of a list operation's answer. */
export function pageSchema<T extends TSchema>(item: T, description: string) {
  return Type.Object({
    items: Type.Array(item, { description }),
    nextCursor: Type.Optional(Type.String({ description: 'Present when more items may remain: pass it as `cursor`' })),
    next: Type.Optional(Type.String({ description: 'The next page as a ready-made URL (also in the Link header)' })),
  });
}

export interface PageBody<I> {
  items: I[];
  nextCursor?: string;
  next?: string;
}

function scopeOf(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

export function encodePageCursor(after: readonly Scalar[], scope: readonly unknown[]): string {
  return Buffer.from(JSON.stringify({ a: after, q: scopeOf(scope) })).toString('base64url');
}

export function decodePageCursor(text: string, scope: readonly unknown[], keys: number): Scalar[] {
  const bad = () => invalidParameter('cursor', 'is not a cursor this list issued');
  if (text.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw bad();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof decoded !== 'object' || decoded === null) throw bad();
  const { a, q } = decoded as { a?: unknown; q?: unknown };
  if (q !== scopeOf(scope) || !Array.isArray(a) || a.length !== keys) throw bad();
  for (const value of a) if (!(value === null || ['string', 'number', 'boolean'].includes(typeof value))) throw bad();
  return a as Scalar[];
}

export interface ListPageOptions<T extends { id: string }, I> {
  collection: Collection<T>;
  where: Where;
  /** Sort fields before id; all ascending unless `descending`. */
  orderBy?: readonly string[];
  descending?: boolean;
  query: { limit?: number | undefined; cursor?: string | undefined };
  /** The list's path and the query it was asked with (without limit and cursor), for `next` and the cursor's scope. */
  path: string;
  params: Readonly<Record<string, string | number | boolean | undefined>>;
  toItem: (doc: T) => I;
}

/** Reads one page and answers it, with the next page's cursor and URL when more may remain. */
export async function listPage<T extends { id: string }, I>(ctx: ApiContext, options: ListPageOptions<T, I>): Promise<PageBody<I>> {
  const limit = options.query.limit ?? DEFAULT_PAGE_LIMIT;
  const orderBy = options.orderBy ?? [];
  const scope = [options.path, options.params, orderBy, options.descending === true];
  const after = options.query.cursor === undefined ? undefined : decodePageCursor(options.query.cursor, scope, orderBy.length + 1);
  const docs = await options.collection.find(options.where, { orderBy, descending: options.descending ?? false, limit: limit + 1, ...(after ? { after } : {}) });
  const body: PageBody<I> = { items: docs.slice(0, limit).map(options.toItem) };
  if (docs.length > limit) {
    const nextCursor = encodePageCursor(pageAfter(docs[limit - 1]!, orderBy), scope);
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(options.params)) if (value !== undefined) search.set(name, String(value));
    if (options.query.limit !== undefined) search.set('limit', String(limit));
    search.set('cursor', nextCursor);
    body.nextCursor = nextCursor;
    body.next = `${options.path}?${search.toString()}`;
    ctx.set('Link', `<${body.next}>; rel="next"`);
  }
  ctx.body = body;
  return body;
}
