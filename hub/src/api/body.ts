/**
 * JSON request bodies: read within a size bound and validated by the operation's schema, every failure an
 * ApiError naming the field (or `body`), so bad input is a 400 before a handler sees it.
 */
import { type Static, type TObject } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import getRawBody from 'raw-body';
import type { ApiContext } from './context.ts';
import { ApiError, invalidParameter } from './problem.ts';
import { describeFailure } from './query.ts';

/** Every body this API takes is a handful of fields. */
export const MAX_BODY_BYTES = 16 * 1024;

export interface BodyParser<T extends TObject> {
  parse(ctx: ApiContext): Promise<Static<T>>;
}

/** Objects nested deeper than this are refused: no schema of this API goes near it, and parsing stays bounded. */
const MAX_DEPTH = 16;

/**
 * The first key of `value`, at any depth, that a document database could read as an operator (`$gt`) or a
 * path (`a.b`), as a JSON pointer; undefined when there is none. Such keys are refused before anything is
 * stored or queried, whatever the schema allows (free-form attributes, JSON schemas of equipment types).
 */
export function unsafeKey(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > MAX_DEPTH) return `${path || '/'} (nested deeper than ${MAX_DEPTH})`;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = unsafeKey(item, `${path}/${i}`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const here = `${path}/${key}`;
    if (key.startsWith('$') || key.includes('.') || key.includes('\u0000')) return here;
    const found = unsafeKey(item, here, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function readJson(ctx: ApiContext, limit: number): Promise<unknown> {
  const type = ctx.is('application/json');
  if (type === null) throw invalidParameter('body', 'is required: a JSON object (Content-Type: application/json)');
  if (type === false) throw invalidParameter('body', `must be application/json, not ${ctx.get('Content-Type')}`);
  let text: string;
  try {
    // Given the Content-Length, raw-body refuses a larger body before reading any of it; it always stops past the limit.
    text = await getRawBody(ctx.req, { limit, length: ctx.request.length, encoding: 'utf8' });
  } catch (err) {
    if ((err as { type?: unknown }).type === 'entity.too.large') throw invalidParameter('body', `larger than ${limit} bytes`);
    throw invalidParameter('body', `could not be read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidParameter('body', 'is not valid JSON');
  }
}

export function compileBody<T extends TObject>(schema: T, limit = MAX_BODY_BYTES): BodyParser<T> {
  const compiled = TypeCompiler.Compile(schema);
  const known = Object.keys(schema.properties);
  return {
    async parse(ctx) {
      const body = await readJson(ctx, limit);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidParameter('body', 'must be a JSON object');
      const unsafe = unsafeKey(body);
      if (unsafe !== undefined) throw invalidParameter(unsafe.slice(0, 128), 'keys may not start with $ or contain a dot');
      const unknown = Object.keys(body).find((name) => !known.includes(name));
      if (unknown !== undefined) throw invalidParameter(unknown.slice(0, 64), `unknown field; accepted: ${known.join(', ')}`);
      if (compiled.Check(body)) return body;
      const first = compiled.Errors(body).First();
      const name = first?.path.split('/')[1] || 'body';
      const detail = first
        ? typeof first.schema.description === 'string' && first.schema.anyOf
          ? `expected ${first.schema.description}`
          : describeFailure(first.type, first.schema, first.message)
        : 'invalid';
      throw invalidParameter(name, detail);
    },
  };
}

/**
 * The raw bytes of an upload (Operation.upload): the declared Content-Type must be one of those accepted, and
 * reading stops past `maxBytes`. The declared type is only a first filter; the handler checks the real one.
 */
export async function readUpload(ctx: ApiContext, upload: { readonly contentTypes: readonly string[]; readonly maxBytes: number }): Promise<Buffer> {
  const declared = ctx.is(...upload.contentTypes);
  if (declared === null) throw invalidParameter('body', `is required: ${upload.contentTypes.join(' or ')}`);
  if (declared === false) throw invalidParameter('body', `must be ${upload.contentTypes.join(' or ')}, not ${ctx.get('Content-Type')}`);
  try {
    return await getRawBody(ctx.req, { limit: upload.maxBytes, length: ctx.request.length });
  } catch (err) {
    if ((err as { type?: unknown }).type === 'entity.too.large') throw new ApiError('payload_too_large', `the upload is larger than ${upload.maxBytes} bytes`, { param: 'body' });
    throw invalidParameter('body', `could not be read: ${(err as Error).message}`);
  }
}
