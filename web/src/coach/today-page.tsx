/** Today's classes of the gym, in its time zone: each occurrence with its bookings, its state and a link to it. */
import { useApp } from '../lib/context.tsx';
import { loadToday } from './coach-api.ts';
import { formatClock, formatDay, occurrenceHref, todaysClasses } from './logic.ts';
import { LoadedView, STATE_TEXT, useLoaded } from './shared.tsx';

export function TodayPage() {
  const { api, t, gym, language } = useApp();
  const { loaded, reload } = useLoaded(() => loadToday(api, gym, Date.now()), [api, gym]);

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
