/** Staff book a place for an athlete of the gym; a full class puts them on the waitlist, a full waitlist refuses. */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { book, loadAthletes } from './coach-api.ts';
import { bookableMembers } from './logic.ts';
import { LoadedView, ProblemNote, useLoaded } from './shared.tsx';
import type { Member, Occurrence, RosterEntry } from './types.ts';

export function BookForm(props: { occurrence: Occurrence; entries: RosterEntry[]; changed: () => void }) {
  const { api, t, gym, language } = useApp();
  const { loaded, reload } = useLoaded(() => loadAthletes(api, gym), [api, gym]);
  const [athlete, setAthlete] = useState('');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<unknown>();
  const [done, setDone] = useState<string | undefined>();

  async function submit(event: Event, members: Member[]) {
    event.preventDefault();
    const who = members.find((member) => member.userId === athlete);
    if (who === undefined) return;
    setBusy(true);
    setRefusal(undefined);
    setDone(undefined);
    try {
      const booking = await book(api, props.occurrence, who.userId);
      setDone(
        booking.status === 'waitlisted' ? t('coachBookWaitlisted', { name: who.displayName, position: booking.position ?? 0 }) : t('coachBookDone', { name: who.displayName }),
      );
      setAthlete('');
      props.changed();
    } catch (error) {
      setRefusal(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="coach-book-title">
      <h2 id="coach-book-title">{t('coachBookTitle')}</h2>
      <LoadedView loaded={loaded} retry={reload}>
        {(all) => {
          const members = bookableMembers(all, props.entries, language);
          return (
            <>
              {members.length === 0 ? (
                <p>{t('coachBookNobody')}</p>
              ) : (
                <form onSubmit={(event) => void submit(event, members)}>
                  <label for="coach-book-athlete">{t('coachBookAthlete')}</label>{' '}
                  <select id="coach-book-athlete" required value={athlete} onChange={(event) => setAthlete(event.currentTarget.value)}>
                    <option value="">{t('coachLoanChoose')}</option>
                    {members.map((member) => (
                      <option key={member.userId} value={member.userId}>
                        {member.displayName}
                      </option>
                    ))}
                  </select>{' '}
                  <button type="submit" disabled={busy}>
                    {t('coachBookButton')}
                  </button>
                  {refusal === undefined ? null : <ProblemNote action="book" error={refusal} />}
                </form>
              )}
              {done === undefined ? null : <p role="status">{done}</p>}
            </>
          );
        }}
      </LoadedView>
    </section>
  );
}
