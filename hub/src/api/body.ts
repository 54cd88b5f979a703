/**
 * JSON request bodies: read within a size bound and validated by the operation's schema, every failure an
 * ApiError naming the field (or `body`), so bad input is a 400 before a handler sees it.
 */
import { type Static, type TObject } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import getRawBody from 'raw-body';
import type { ApiContext } from './context.ts';
import { invalidParameter } from './problem.ts';
import { describeFailure } from './query.ts';

/** Every body this API takes is a handful of fields. */
export const MAX_BODY_BYTES = 16 * 1024;

export interface BodyParser<T extends TObject> {
  parse(ctx: ApiContext): Promise<Static<T>>;
}

async function readJson(ctx: ApiContext): Promise<unknown> {
  const type = ctx.is('application/json');
  if (type === null) throw invalidParameter('body', 'is required: a JSON object (Content-Type: application/json)');
  if (type === false) throw invalidParameter('body', `must be application/json, not ${ctx.get('Content-Type')}`);
  let text: string;
  try {
    // raw-body checks Content-Length first and stops reading past the limit.
    text = await getRawBody(ctx.req, { limit: MAX_BODY_BYTES, encoding: 'utf8' });
  } catch (err) {
    if ((err as { type?: unknown }).type === 'entity.too.large') throw invalidParameter('body', `larger than ${MAX_BODY_BYTES} bytes`);
    throw invalidParameter('body', `could not be read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidParameter('body', 'is not valid JSON');
  }
}

export function compileBody<T extends TObject>(schema: T): BodyParser<T> {
  const compiled = TypeCompiler.Compile(schema);
  const known = Object.keys(schema.properties);
  return {
    async parse(ctx) {
      const body = await readJson(ctx);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidParameter('body', 'must be a JSON object');
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
