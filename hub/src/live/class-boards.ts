/**
 * The live boards a hub replica keeps: one ClassBoard per class run that has viewers, made on the first viewer
 * and dropped after the last leaves, so a replica only follows the runs someone watches on it.
 */
import type { Domain } from '../domain/domain.ts';
import { CLASS_RUNS } from '../domain/sessions/collections.ts';
import { ClassBoard, type BoardListener, type BoardTile, type ClassBoardOptions } from './class-board.ts';

export type BoardJoin = { state: 'running'; tiles: BoardTile[]; leave: () => void } | { state: 'ended' };

export class ClassBoards {
  private readonly boards = new Map<string, Promise<ClassBoard>>();
  private readonly viewersOf = new Map<string, number>();

  constructor(
    private readonly domain: Domain,
    private readonly options: ClassBoardOptions,
  ) {}

  viewers(): number {
    let total = 0;
    for (const count of this.viewersOf.values()) total += count;
    return total;
  }

  get open(): number {
    return this.boards.size;
  }

  /** Adds a viewer to the run's board (making it on the first); `ended` when the run is not running. */
  async join(runId: string, listener: BoardListener): Promise<BoardJoin> {
    this.viewersOf.set(runId, (this.viewersOf.get(runId) ?? 0) + 1);
    let left = false;
    const leaveBoard = (): void => {
      if (left) return;
      left = true;
      const count = (this.viewersOf.get(runId) ?? 1) - 1;
      if (count > 0) {
        this.viewersOf.set(runId, count);
        return;
      }
      this.viewersOf.delete(runId);
      const board = this.boards.get(runId);
      this.boards.delete(runId);
      void board?.then((b) => b.stop()).catch(() => {});
    };
    let board: ClassBoard | undefined;
    try {
      board = await this.boardOf(runId);
    } catch (error) {
      leaveBoard();
      throw error;
    }
    if (board === undefined || board.ended) {
      leaveBoard();
      return { state: 'ended' };
    }
    const unlisten = board.listen((event) => {
      listener(event);
      if (event.type === 'ended') leaveBoard();
    });
    return {
      state: 'running',
      tiles: board.tiles(),
      leave: () => {
        unlisten();
        leaveBoard();
      },
    };
  }

  /** The tiles now, from the board viewers keep open on this replica, else from a board made for this answer. */
  async snapshot(runId: string): Promise<{ state: 'running'; tiles: BoardTile[] } | { state: 'ended' }> {
    const existing = this.boards.get(runId);
    if (existing) {
      const board = await existing;
      if (!board.ended) return { state: 'running', tiles: board.tiles() };
    }
    const run = await this.domain.documents.collection(CLASS_RUNS).get(runId);
    if (run === undefined || run.state !== 'running') return { state: 'ended' };
    const board = new ClassBoard(this.domain, run, this.options);
    await board.load();
    const tiles = board.tiles();
    board.stop();
    return { state: 'running', tiles };
  }

  private async boardOf(runId: string): Promise<ClassBoard | undefined> {
    let board = this.boards.get(runId);
    if (board === undefined) {
      const run = await this.domain.documents.collection(CLASS_RUNS).get(runId);
      if (run === undefined || run.state !== 'running') return undefined;
      // Another viewer may have made it while the run was read.
      board = this.boards.get(runId);
      if (board === undefined) {
        const made = new ClassBoard(this.domain, run, this.options);
        board = made.start().then(() => made);
        this.boards.set(runId, board);
        board.catch(() => {
          if (this.boards.get(runId) === board) this.boards.delete(runId);
        });
      }
    }
    return board;
  }
}
