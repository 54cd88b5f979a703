/**
 * Moving between the app's pages without reloading: every area writes plain links (`<a href="/app/...">`) and
 * calls `navigate` after an action; the shell follows in-app link clicks itself (`followInAppLinks`) and
 * re-renders on popstate. A link opened with a modifier, in another window or as a download stays the
 * browser's.
 */
export const APP_BASE = '/app';

/** The address of an app page, from its path under /app (`/me/sessions` -> `/app/me/sessions`). */
export function appHref(path: string): string {
  return `${APP_BASE}${path}`;
}

export function navigate(href: string): void {
  history.pushState(null, '', href);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** The in-app address a click should open in place, or undefined when the browser should follow it. */
export function inAppTarget(
  event: Pick<MouseEvent, 'button' | 'metaKey' | 'ctrlKey' | 'shiftKey' | 'altKey' | 'defaultPrevented'>,
  link: { href: string; target: string; hasDownload: boolean },
  origin: string,
): string | undefined {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return undefined;
  if (link.hasDownload || (link.target !== '' && link.target !== '_self')) return undefined;
  const url = new URL(link.href, origin);
  if (url.origin !== origin || (url.pathname !== APP_BASE && !url.pathname.startsWith(`${APP_BASE}/`))) return undefined;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** Follows clicks on in-app links under `root` in place; returns the function that stops it. */
export function followInAppLinks(root: Document): () => void {
  const onClick = (event: MouseEvent) => {
    const anchor = (event.target as Element | null)?.closest?.('a[href]');
    if (!(anchor instanceof HTMLAnchorElement)) return;
    const to = inAppTarget(event, { href: anchor.href, target: anchor.target, hasDownload: anchor.hasAttribute('download') }, location.origin);
    if (to === undefined) return;
    event.preventDefault();
    navigate(to);
  };
  root.addEventListener('click', onClick);
  return () => root.removeEventListener('click', onClick);
}
