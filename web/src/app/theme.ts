/** Light, dark or as the system says; remembered in localStorage, applied as `data-theme` on <html>. */
export const THEMES = ['light', 'dark', 'system'] as const;
export type Theme = (typeof THEMES)[number];
const STORAGE_KEY = 'pulsebridge.theme';

export function storedTheme(storage: Pick<Storage, 'getItem'>): Theme {
  const value = storage.getItem(STORAGE_KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

export function applyTheme(theme: Theme, storage: Pick<Storage, 'setItem'> | undefined, root: HTMLElement = document.documentElement): void {
  storage?.setItem(STORAGE_KEY, theme);
  const dark = theme === 'dark' || (theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  root.dataset['theme'] = dark ? 'dark' : 'light';
}
