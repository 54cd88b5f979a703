/**
 * What every page gets from the shell: the API client, the texts, who is signed in with their roles per gym,
 * and the gym being looked at. `useApp()` reads it.
 */
import { createContext, type ComponentChildren } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api.ts';
import type { Language, Translate } from '../i18n/index.ts';

export type Role = 'athlete' | 'coach' | 'gym_admin' | 'platform_admin';

export interface Me {
  /** The user id (the token's subject). */
  id: string;
  displayName: string;
  email: string;
  /** The gyms the user has roles in, with their roles (GET /api/v1/gyms). */
  gyms: { id: string; name: string; roles: Role[] }[];
}

export interface AppState {
  api: Api;
  t: Translate;
  language: Language;
  setLanguage(language: Language): void;
  me: Me;
  /** The gym the pages show (the user picks it when they have several). */
  gym: string;
  setGym(gym: string): void;
}

const AppContext = createContext<AppState | undefined>(undefined);

export function AppProvider(props: { value: AppState; children: ComponentChildren }) {
  return <AppContext.Provider value={props.value}>{props.children}</AppContext.Provider>;
}

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (state === undefined) throw new Error('useApp outside the app shell');
  return state;
}

/** Whether the user holds one of `roles` in `gym` (a platform admin holds every role everywhere). */
export function hasRole(me: Me, gym: string, roles: readonly Role[]): boolean {
  return me.gyms.some((g) => (g.id === gym || g.roles.includes('platform_admin')) && g.roles.some((r) => roles.includes(r) || r === 'platform_admin'));
}
