/**
 * What each feature's routes give the API (app.ts): one handler per entry of the feature's operations table,
 * typed by that entry. The gym of a document a path names (access `{ resource }`) is looked up by the gate
 * (domain/resources.ts), not by the handlers.
 */
import type { Static, TObject } from '@sinclair/typebox';
import type { ApiContext } from './context.ts';
import type { Operation } from './operation.ts';

/** A handler's input, validated before it runs: path, query, JSON body, or the raw bytes of an upload. */
export type Input<O extends Operation> = {
  query: O['query'] extends TObject ? Static<O['query']> : Record<string, never>;
  params: O['params'] extends TObject ? Static<O['params']> : Record<string, never>;
  body: O['body'] extends TObject ? Static<O['body']> : Record<string, never>;
  upload: O['upload'] extends object ? Buffer : undefined;
};

export type Handler<O extends Operation> = (ctx: ApiContext, input: Input<O>) => Promise<void>;

export type HandlersOf<Table extends Record<string, Operation>> = { [K in keyof Table]: Handler<Table[K]> };

export interface RouteModule<Table extends Record<string, Operation>> {
  handlers: HandlersOf<Table>;
}
