/**
 * A page of the app: its path under /app (with `:param` segments), the roles it is for, its title, and its
 * component. Each area (me, coach, admin) exports its list; the shell's router (app/) gathers them, builds the
 * navigation from them and refuses a page to a user without its roles.
 */
import type { ComponentType } from 'preact';
import type { Role } from './context.tsx';
import type { TextKey } from '../i18n/index.ts';

export interface PageProps {
  /** The values of the path's `:param` segments. */
  params: Record<string, string>;
}

export interface PageRoute {
  path: string;
  /** Who may open it in the current gym; empty: anyone signed in. */
  roles: readonly Role[];
  title: TextKey;
  /** Listed in the navigation (false for detail pages reached by links). */
  nav: boolean;
  component: ComponentType<PageProps>;
}
