/**
 * What the board screen remembers in the browser (its gym, the run it shows, sort order and view) and which
 * run it opens by itself: the remembered one while it runs, else the only running one; with several, the
 * screen asks.
 */
import { SORT_ORDERS, VIEWS, type BoardView, type SortOrder } from './arrange.ts';

export type BoardStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const KEYS = { gym: 'pulsebridge.board.gym', run: 'pulsebridge.board.run', sort: 'pulsebridge.board.sort', view: 'pulsebridge.board.view' } as const;

export interface BoardPreferences {
  gym?: string;
  run?: string;
  sort: SortOrder;
  view: BoardView;
}

export function readPreferences(storage: BoardStorage | undefined): BoardPreferences {
  const get = (key: string): string | undefined => storage?.getItem(key) ?? undefined;
  const sort = get(KEYS.sort);
  const view = get(KEYS.view);
  const preferences: BoardPreferences = {
    sort: (SORT_ORDERS as readonly string[]).includes(sort ?? '') ? (sort as SortOrder) : 'name',
    view: (VIEWS as readonly string[]).includes(view ?? '') ? (view as BoardView) : 'tiles',
  };
  const gym = get(KEYS.gym);
  const run = get(KEYS.run);
  if (gym) preferences.gym = gym;
  if (run) preferences.run = run;
  return preferences;
}

/** Saves the given preferences; `undefined` forgets one (a run that ended). */
export function rememberPreferences(storage: BoardStorage | undefined, changes: Partial<Record<keyof BoardPreferences, string | undefined>>): void {
  if (storage === undefined) return;
  for (const [name, value] of Object.entries(changes) as [keyof BoardPreferences, string | undefined][]) {
    if (value === undefined) storage.removeItem(KEYS[name]);
    else storage.setItem(KEYS[name], value);
  }
}

export interface RunningRun {
  id: string;
  class: string;
  startedAt: string;
}

/**
 * The run to open without asking: the remembered one if it still runs, else the only running run (a run that
 * just ended is never reopened); undefined: let the user choose.
 */
export function runToOpen(running: readonly RunningRun[], remembered: string | undefined, ended?: string): string | undefined {
  const candidates = running.filter((run) => run.id !== ended);
  if (remembered !== undefined && remembered !== ended && candidates.some((run) => run.id === remembered)) return remembered;
  return candidates.length === 1 ? candidates[0]!.id : undefined;
}

/** The gym to show: the remembered one if the user still has it, else their only gym; undefined: ask. */
export function gymToOpen(gyms: readonly { id: string }[], remembered: string | undefined): string | undefined {
  if (remembered !== undefined && gyms.some((gym) => gym.id === remembered)) return remembered;
  return gyms.length === 1 ? gyms[0]!.id : undefined;
}
