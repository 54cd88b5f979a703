/**
 * Small pieces the athlete pages share: loading an API answer into state, the loading and error states, links
 * that move inside the app without reloading it, a polite live region for what an action did, and saving a
 * downloaded file.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiProblem } from '../lib/api.ts';
import { useApp } from '../lib/context.tsx';
import { appHref } from '../lib/navigation.ts';

export { APP_BASE, navigate } from '../lib/navigation.ts';

export type Loaded<T> = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'ok'; data: T };

/** Runs `load` when `deps` change and on `reload()`; an answer arriving after a newer load started is dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): { loaded: Loaded<T>; reload: () => void } {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setLoaded({ state: 'loading' });
    load().then(
      (data) => current && setLoaded({ state: 'ok', data }),
      (error: unknown) => current && setLoaded({ state: 'error', error }),
    );
    return () => {
      current = false;
    };
    // `load` is a new closure every render: the caller's deps say when it really changes.
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { loaded, reload };
}

/** What went wrong, as the API said it (its problem detail) or as the browser did. */
export function problemText(error: unknown): string {
  if (error instanceof ApiProblem) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** The loading and error states of a loaded answer, or its content. */
export function Load<T>(props: { loaded: Loaded<T>; reload: () => void; children: (data: T) => ComponentChildren }) {
  const { t } = useApp();
  if (props.loaded.state === 'loading') return <p role="status">{t('loading')}</p>;
  if (props.loaded.state === 'error') {
    const notFound = props.loaded.error instanceof ApiProblem && props.loaded.error.status === 404;
    return (
      <div role="alert">
        <p>{notFound ? t('notFound') : `${t('errorTitle')}: ${problemText(props.loaded.error)}`}</p>
        {notFound ? null : (
          <button type="button" onClick={props.reload}>
            {t('retry')}
          </button>
        )}
      </div>
    );
  }
  return <>{props.children(props.loaded.data)}</>;
}

/** A link to another app page by its path under /app; the shell follows it in place (lib/navigation.ts). */
export function Link(props: { to: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={appHref(props.to)} class={props.class}>
      {props.children}
    </a>
  );
}

/** What the last action did (or why it failed), read out by screen readers without moving focus. */
export interface Notice {
  text: string;
  error: boolean;
}

export function NoticeLine(props: { notice: Notice | undefined }) {
  return (
    <p class={props.notice?.error ? 'me-notice me-error' : 'me-notice'} role={props.notice?.error ? 'alert' : 'status'}>
      {props.notice?.text ?? ''}
    </p>
  );
}

/** Hands a downloaded file to the browser to save. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
