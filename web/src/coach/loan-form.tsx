/** Lending one of the gym's loaner straps to an athlete holding a place, until the class ends. */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { lendStrap, loadFreeStraps } from './coach-api.ts';
import { loanCandidates } from './logic.ts';
import { LoadedView, ProblemNote, useLoaded } from './shared.tsx';
import type { GymSensor, Occurrence, RosterEntry } from './types.ts';

export function LoanForm(props: { occurrence: Occurrence; entries: RosterEntry[]; changed: () => void }) {
  const { api, t, gym, language } = useApp();
  const { loaded, reload } = useLoaded(() => loadFreeStraps(api, gym, language), [api, gym, language, props.entries]);
  const [athlete, setAthlete] = useState('');
  const [strap, setStrap] = useState('');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<unknown>();
  const [done, setDone] = useState<string | undefined>();
  const athletes = loanCandidates(props.entries);

  async function lend(event: Event, straps: GymSensor[]) {
    event.preventDefault();
    const sensor = straps.find((s) => s.id === strap);
    const who = athletes.find((a) => a.userId === athlete);
    if (sensor === undefined || who === undefined) return;
    setBusy(true);
    setRefusal(undefined);
    setDone(undefined);
    try {
      await lendStrap(api, sensor.id, props.occurrence, who.userId);
      setDone(t('coachLoanDone', { strap: sensor.label ?? sensor.sensor, name: who.displayName }));
      setAthlete('');
      setStrap('');
      reload();
      props.changed();
    } catch (error) {
      setRefusal(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="coach-loan-title">
      <h2 id="coach-loan-title">{t('coachLoanTitle')}</h2>
      <LoadedView loaded={loaded} retry={reload}>
        {(straps) =>
          straps.length === 0 ? (
            <p>{t('coachLoanNoStraps')}</p>
          ) : athletes.length === 0 ? (
            <p>{t('coachLoanNoAthletes')}</p>
          ) : (
            <form onSubmit={(event) => void lend(event, straps)}>
              <label for="coach-loan-athlete">{t('coachLoanAthlete')}</label>{' '}
              <select id="coach-loan-athlete" required value={athlete} onChange={(event) => setAthlete(event.currentTarget.value)}>
                <option value="">{t('coachLoanChoose')}</option>
                {athletes.map((entry) => (
                  <option key={entry.userId} value={entry.userId}>
                    {entry.displayName}
                  </option>
                ))}
              </select>{' '}
              <label for="coach-loan-strap">{t('coachLoanStrap')}</label>{' '}
              <select id="coach-loan-strap" required value={strap} onChange={(event) => setStrap(event.currentTarget.value)}>
                <option value="">{t('coachLoanChoose')}</option>
                {straps.map((sensor) => (
                  <option key={sensor.id} value={sensor.id}>
                    {sensor.label === undefined ? sensor.sensor : `${sensor.label} (${sensor.sensor})`}
                  </option>
                ))}
              </select>{' '}
              <button type="submit" disabled={busy}>
                {t('coachLoanButton')}
              </button>
              {refusal === undefined ? null : <ProblemNote action="lend" error={refusal} />}
            </form>
          )
        }
      </LoadedView>
      {/* Outside the form: lending the last free strap replaces the form, and the coach still reads what was done. */}
      {done === undefined ? null : <p role="status">{done}</p>}
    </section>
  );
}
