/** Small pieces the coach pages share: loading an API answer with its states, and a refusal shown in words. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiProblem } from '../lib/api.ts';
import { useApp } from '../lib/context.tsx';
import type { TextKey } from '../i18n/index.ts';
import { problemKey, type CoachAction, type OccurrenceState } from './logic.ts';

export type Loaded<T> = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'ready'; value: T };

/** Runs `load` when `keys` change; `reload()` runs it again (after a change the page made). */
export function useLoaded<T>(load: () => Promise<T>, keys: readonly unknown[]): { loaded: Loaded<T>; reload: () => void } {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && setLoaded({ state: 'ready', value }),
      (error: unknown) => current && setLoaded({ state: 'error', error }),
    );
    return () => {
      current = false;
    };
    // The caller names what the load depends on, as with useEffect itself.
  }, [...keys, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { loaded, reload };
}

export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiProblem ? error.status : undefined;
}

/**
 * A refusal next to the control that caused it: the sentence in the page's language, then the hub's own detail
 * (English) for the specifics. role=alert so a screen reader says it when it appears.
 */
export function ProblemNote(props: { action: CoachAction; error: unknown }) {
  const { t } = useApp();
  const detail = props.error instanceof ApiProblem ? props.error.message : undefined;
  return (
    <p class="problem" role="alert">
      {t(problemKey(props.action, statusOf(props.error)))}
      {detail === undefined ? null : (
        <>
          {' '}
          <span lang="en" class="problem-detail">
            ({detail})
          </span>
        </>
      )}
    </p>
  );
}

/** The loading and failure states of a section, or its content once loaded. */
export function LoadedView<T>(props: { loaded: Loaded<T>; retry: () => void; children: (value: T) => ComponentChildren }) {
  const { t } = useApp();
  if (props.loaded.state === 'loading') return <p aria-live="polite">{t('loading')}</p>;
  if (props.loaded.state === 'error') {
    // Trying again cannot bring back what is not there (removed, or another gym's): no retry for a 404.
    const missing = statusOf(props.loaded.error) === 404;
    return (
      <div>
        <ProblemNote action="load" error={props.loaded.error} />
        {missing ? null : (
          <button type="button" onClick={props.retry}>
            {t('retry')}
          </button>
        )}
      </div>
    );
  }
  return <>{props.children(props.loaded.value)}</>;
}

/** How each state of an occurrence reads. */
export const STATE_TEXT: Record<OccurrenceState, TextKey> = {
  upcoming: 'coachStateUpcoming',
  running: 'coachStateRunning',
  ended: 'coachStateEnded',
  cancelled: 'coachStateCancelled',
};
