/** Today's classes of the gym, in its time zone: each occurrence with its bookings, its state and a link to it. */
import { useApp } from '../lib/context.tsx';
import type { TextKey } from '../i18n/index.ts';
import { formatClock, formatDay, occurrenceHref, runsWindow, todaysClasses, todayWindow, type OccurrenceState } from './logic.ts';
import { LoadedView, useLoaded } from './shared.tsx';
import type { ClassInfo, ClassRun, GymSettings, Occurrence } from './types.ts';

export const STATE_TEXT: Record<OccurrenceState, TextKey> = {
  upcoming: 'coachStateUpcoming',
  running: 'coachStateRunning',
  ended: 'coachStateEnded',
  cancelled: 'coachStateCancelled',
};

interface Today {
  timeZone: string;
  from: string;
  now: number;
  occurrences: Occurrence[];
  runs: ClassRun[];
}

export function TodayPage() {
  const { api, t, gym, language } = useApp();
  const { loaded, reload } = useLoaded(async (): Promise<Today> => {
    const settings = await api.get<GymSettings>(`/gyms/${encodeURIComponent(gym)}`);
    const now = Date.now();
    const day = todayWindow(now, settings.timeZone);
    const [classes, runs] = await Promise.all([api.all<ClassInfo>('/classes', { gym }), api.all<ClassRun>(`/gyms/${encodeURIComponent(gym)}/class-runs`, runsWindow(day))]);
    const perClass = await Promise.all(
      classes.map((cls) => api.get<{ items: Occurrence[] }>(`/classes/${encodeURIComponent(cls.id)}/occurrences`, { from: day.from, to: day.to })),
    );
    return { timeZone: settings.timeZone, from: day.from, now, occurrences: perClass.flatMap((page) => page.items), runs };
  }, [api, gym]);

  return (
    <section aria-labelledby="coach-today-title">
      <h1 id="coach-today-title">{t('coachTodayTitle')}</h1>
      <LoadedView loaded={loaded} retry={reload}>
        {(today) => {
          const rows = todaysClasses(today.occurrences, today.runs, today.now);
          return (
            <>
              <p>{t('coachTodayDate', { date: formatDay(today.from, today.timeZone, language), zone: today.timeZone })}</p>
              {rows.length === 0 ? (
                <p>{t('coachTodayNone')}</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('coachTodayTime')}</th>
                      <th scope="col">{t('coachTodayClass')}</th>
                      <th scope="col">{t('coachTodayRoom')}</th>
                      <th scope="col">{t('coachTodayBooked')}</th>
                      <th scope="col">{t('coachTodayState')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map(({ occurrence, state }) => (
                      <tr key={`${occurrence.class}@${occurrence.start}`}>
                        <td>
                          <time dateTime={occurrence.startsAt}>{formatClock(occurrence.startsAt, today.timeZone, language)}</time>
                          {' – '}
                          <time dateTime={occurrence.endsAt}>{formatClock(occurrence.endsAt, today.timeZone, language)}</time>
                        </td>
                        <th scope="row">
                          <a href={occurrenceHref(occurrence)}>{occurrence.name}</a>
                        </th>
                        <td>{occurrence.room}</td>
                        <td>
                          {t('coachBookedOf', { booked: occurrence.booked, capacity: occurrence.capacity })}
                          {occurrence.waitlisted > 0 ? <> · {t('coachWaiting', { count: occurrence.waitlisted })}</> : null}
                        </td>
                        <td data-state={state}>{t(STATE_TEXT[state])}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </>
          );
        }}
      </LoadedView>
    </section>
  );
}
