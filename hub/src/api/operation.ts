/**
 * The shape of one API operation, as every feature's table describes its routes (operations.ts gathers them
 * all): the router mounts it, the access gate reads who may call it, and the OpenAPI document describes it.
 */
import type { TObject, TSchema } from '@sinclair/typebox';
import type { Access } from './access.ts';
import type { ProblemCode } from './problem.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Operation {
  readonly operationId: string;
  /** Default 'get'. */
  readonly method?: HttpMethod;
  /** In @koa/router syntax (`/api/v1/agents/:id`); also the `route` label of the HTTP metrics. */
  readonly path: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly access: Access;
  readonly query?: TObject;
  readonly params?: TObject;
  /** A JSON request body, validated like the query. */
  readonly body?: TObject;
  /** The most bytes that body may have; default MAX_BODY_BYTES (16 KiB). */
  readonly bodyLimitBytes?: number;
  /**
   * A binary request body instead of JSON (a photo): its declared Content-Type must be one of `contentTypes`
   * and it is read, up to `maxBytes`, into the handler's `input.upload`. What it really is, the handler checks.
   */
  readonly upload?: { readonly contentTypes: readonly string[]; readonly maxBytes: number };
  /** `status`: the success status, 200 unless said (201 for a creation). */
  readonly response: { readonly description: string; readonly contentType: string; readonly schema?: TSchema; readonly status?: 200 | 201 | 204 };
  /** Problems this operation answers with, besides the ones access adds (unauthorized, forbidden) and internal. */
  readonly problems: readonly ProblemCode[];
}

export const API_PREFIX = '/api/v1';
export const JSON_TYPE = 'application/json';
