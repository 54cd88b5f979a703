/** Starting and ending the class, each after a confirmation, and the link to its live board. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { endRun, startRun } from './coach-api.ts';
import { boardHref, formatClock, mayStart, runIdOf, type OccurrenceState } from './logic.ts';
import { ProblemNote } from './shared.tsx';
import type { ClassRun, Occurrence } from './types.ts';

export function RunControls(props: { occurrence: Occurrence; state: OccurrenceState; run: ClassRun | undefined; changed: () => void }) {
  const { api, t, language } = useApp();
  const { occurrence, state, run } = props;
  const [asking, setAsking] = useState<'start' | 'end' | undefined>();
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<{ action: 'start' | 'end'; error: unknown } | undefined>();
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking !== undefined) yes.current?.focus();
  }, [asking]);

  async function act(action: 'start' | 'end') {
    setBusy(true);
    setRefusal(undefined);
    try {
      if (action === 'start') await startRun(api, occurrence);
      else await endRun(api, run?.id ?? runIdOf(occurrence));
      setAsking(undefined);
      props.changed();
    } catch (error) {
      setAsking(undefined);
      setRefusal({ action, error });
    } finally {
      setBusy(false);
    }
  }

  const startable = mayStart(occurrence, state, Date.now());
  return (
    <section aria-labelledby="coach-run-title">
      <h2 id="coach-run-title">{t('coachRunTitle')}</h2>
      {run === undefined ? null : <p>{t('coachRunStartedAt', { time: formatClock(run.startedAt, occurrence.timeZone, language) })}</p>}
      {run?.endedAt === undefined ? null : <p>{t('coachRunEndedAt', { time: formatClock(run.endedAt, occurrence.timeZone, language) })}</p>}
      {asking === undefined ? (
        <p>
          {state === 'upcoming' ? (
            <button type="button" disabled={busy} aria-describedby={startable ? undefined : 'coach-start-hint'} onClick={() => setAsking('start')}>
              {t('coachStartButton')}
            </button>
          ) : null}
          {state === 'running' ? (
            <button type="button" disabled={busy} onClick={() => setAsking('end')}>
              {t('coachEndButton')}
            </button>
          ) : null}
          {state === 'running' && run !== undefined ? (
            <>
              {' '}
              <a href={boardHref(run.gym, run.id)}>{t('coachBoardLink')}</a>
            </>
          ) : null}
        </p>
      ) : (
        <div role="group" aria-labelledby="coach-confirm-text">
          <p id="coach-confirm-text">{t(asking === 'start' ? 'coachStartConfirm' : 'coachEndConfirm', { name: occurrence.name })}</p>
          <button type="button" ref={yes} disabled={busy} onClick={() => void act(asking)}>
            {t('coachConfirmYes')}
          </button>{' '}
          <button type="button" disabled={busy} onClick={() => setAsking(undefined)}>
            {t('coachConfirmNo')}
          </button>
        </div>
      )}
      {state === 'upcoming' && !startable ? <p id="coach-start-hint">{t('coachStartNotYet')}</p> : null}
      {refusal === undefined ? null : <ProblemNote action={refusal.action} error={refusal.error} />}
    </section>
  );
}
