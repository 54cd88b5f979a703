/** Handlers of board-operations.ts: the live class board streams (sse.ts) fed by this replica's ClassBoards. */
import type { Registry } from 'prom-client';
import { registerScraped } from '@pulsebridge/runtime';
import type { Domain } from '../domain/domain.ts';
import type { BoardEvent, BoardTile } from '../live/class-board.ts';
import { ClassBoards } from '../live/class-boards.ts';
import type { BOARD_OPERATIONS, BoardSnapshot } from './board-operations.ts';
import type { RouteModule } from './route-module.ts';
import { isoTime } from './self.ts';
import { SseStreams, sseEvent, type SseLimits } from './sse.ts';

export interface BoardSettings {
  /** How often the whole board is sent (sessions.boardTickMs); default 1 s. */
  tickMs?: number;
  /** A sensor with no reading for this long shows as quiet (sessions.quietAfterMs); default 5 s. */
  quietAfterMs?: number;
  /** Bounds of the board streams; defaults as /live's. */
  streams?: SseLimits;
}

export interface BoardRouteOptions extends BoardSettings {
  metrics: Registry;
  /** Aborted when the hub stops: board streams end, and with their last viewer the boards. */
  shutdown?: AbortSignal;
}

export const DEFAULT_BOARD_TICK_MS = 1_000;
export const DEFAULT_QUIET_AFTER_MS = 5_000;

export function boardRoutes(domain: Domain, options: BoardRouteOptions): RouteModule<typeof BOARD_OPERATIONS> {
  const boards = new ClassBoards(domain, { tickMs: options.tickMs ?? DEFAULT_BOARD_TICK_MS, quietAfterMs: options.quietAfterMs ?? DEFAULT_QUIET_AFTER_MS });
  const streams = new SseStreams({ log: domain.log, ...(options.shutdown ? { shutdown: options.shutdown } : {}), ...options.streams });
  registerScraped(options.metrics, [
    { name: 'pb_hub_board_open', help: 'Live class boards this replica follows (runs with viewers)', kind: 'gauge', read: () => boards.open },
    { name: 'pb_hub_board_viewers', help: 'Live class board streams open on this replica', kind: 'gauge', read: () => streams.active },
    { name: 'pb_hub_board_events_total', help: 'Live class board events written to viewers', kind: 'counter', read: () => streams.eventsWritten },
    { name: 'pb_hub_board_disconnects_total', help: 'Live class board viewers the hub disconnected, by reason', kind: 'counter', label: 'reason', read: () => streams.disconnects },
  ]);
  const snapshotOf = (run: string, tiles: BoardTile[], state: 'running' | 'ended' = 'running'): BoardSnapshot => ({ run, state, at: isoTime(domain.now()), tiles });
  // Every viewer of a board gets the same event object: it is serialised once for all of them.
  const encoded = new WeakMap<BoardEvent, string>();
  const encode = (run: string, event: BoardEvent): string => {
    let text = encoded.get(event);
    if (text === undefined) {
      text = event.type === 'ended' ? sseEvent('ended', snapshotOf(run, [], 'ended')) : sseEvent(event.type, snapshotOf(run, event.tiles));
      encoded.set(event, text);
    }
    return text;
  };

  return {
    handlers: {
      streamClassBoard: async (ctx, { params }) => {
        await streams.serve(ctx, async (send, end) => {
          const joined = await boards.join(params.id, (event) => {
            send(encode(params.id, event));
            if (event.type === 'ended') end();
          });
          if (joined.state === 'ended') {
            send(sseEvent('ended', snapshotOf(params.id, [], 'ended')));
            end();
            return () => {};
          }
          send(sseEvent('board', snapshotOf(params.id, joined.tiles)));
          return joined.leave;
        });
      },
      getClassBoard: async (ctx, { params }) => {
        const snapshot = await boards.snapshot(params.id);
        ctx.body = snapshot.state === 'ended' ? snapshotOf(params.id, [], 'ended') : snapshotOf(params.id, snapshot.tiles);
      },
    },
  };
}
