/**
 * One occurrence of a class (/app/coach/classes/:id/:start): when and where, starting and ending it, the roster
 * with check-in and straps, lending a loaner, and once it ended its results.
 */
import { useEffect } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { appHref } from '../lib/navigation.ts';
import type { PageProps } from '../lib/routes.ts';
import { BookForm } from './book-form.tsx';
import { loadOccurrence } from './coach-api.ts';
import { formatClock, formatDay, occurrenceState } from './logic.ts';
import { LoanForm } from './loan-form.tsx';
import { ResultsSection } from './results-section.tsx';
import { RosterSection } from './roster-section.tsx';
import { RunControls } from './run-controls.tsx';
import { LoadedView, STATE_TEXT, useLoaded } from './shared.tsx';

const REFRESH_MS = 30_000;

export function OccurrencePage(props: PageProps) {
  const { api, t, language } = useApp();
  const classId = props.params['id'] ?? '';
  // The router may hand the segment over encoded or not; an instant has nothing else to decode.
  const start = decodeURIComponent(props.params['start'] ?? '');
  const { loaded, reload } = useLoaded(async () => ({ ...(await loadOccurrence(api, classId, start)), now: Date.now() }), [api, classId, start]);

  // Other staff check athletes in and the schedule starts and ends runs: keep the page current while it is open.
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

  return (
    <article aria-labelledby="coach-occurrence-title">
      <p>
        <a href={appHref('/coach')}>{t('coachBackToToday')}</a>
      </p>
      {/* The heading is there while loading and on failure too, so the page always has its title. */}
      <h1 id="coach-occurrence-title">{loaded.state === 'ready' ? loaded.value.roster.occurrence.name : t('coachOccurrenceTitle')}</h1>
      <LoadedView loaded={loaded} retry={reload}>
        {({ roster, run, now }) => {
          const occurrence = roster.occurrence;
          const { state } = occurrenceState(occurrence, run === undefined ? [] : [run], now);
          const zone = occurrence.timeZone;
          return (
            <>
              <p>
                {formatDay(occurrence.startsAt, zone, language)},{' '}
                {t('coachOccurrenceWhen', { start: formatClock(occurrence.startsAt, zone, language), end: formatClock(occurrence.endsAt, zone, language) })}
                {occurrence.room === '' ? null : <> · {occurrence.room}</>} · {t('coachBookedOf', { booked: occurrence.booked, capacity: occurrence.capacity })} ·{' '}
                <strong data-state={state}>{t(STATE_TEXT[state])}</strong>
              </p>
              {state === 'cancelled' ? null : <RunControls occurrence={occurrence} state={state} run={run} changed={reload} />}
              <RosterSection occurrence={occurrence} entries={roster.items} checkInOpen={state === 'upcoming' || state === 'running'} changed={reload} />
              {state === 'upcoming' ? <BookForm occurrence={occurrence} entries={roster.items} changed={reload} /> : null}
              {state === 'upcoming' || state === 'running' ? <LoanForm occurrence={occurrence} entries={roster.items} changed={reload} /> : null}
              {run?.state === 'ended' ? <ResultsSection runId={run.id} loadedAt={now} /> : null}
            </>
          );
        }}
      </LoadedView>
    </article>
  );
}
