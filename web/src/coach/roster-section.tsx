/** The roster: who holds a place (checked in or not, with the straps they wear) and who waits, in order. */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import type { TextKey } from '../i18n/index.ts';
import { checkIn as checkInAthlete } from './coach-api.ts';
import { formatClock, rosterGroups } from './logic.ts';
import { ProblemNote } from './shared.tsx';
import type { Occurrence, RosterEntry, SensorKind } from './types.ts';

const STRAP_KIND: Record<SensorKind, TextKey> = { own: 'coachStrapOwn', loaner: 'coachStrapLoaner', equipment: 'coachStrapEquipment' };

function Straps(props: { entry: RosterEntry }) {
  const { t } = useApp();
  if (props.entry.sensors.length === 0) return <>{t('coachNoStrap')}</>;
  return (
    <ul class="plain">
      {props.entry.sensors.map((sensor) => (
        <li key={sensor.sensor}>
          {sensor.label ?? sensor.sensor} ({t(STRAP_KIND[sensor.kind])})
        </li>
      ))}
    </ul>
  );
}

function CheckIn(props: { occurrence: Occurrence; entry: RosterEntry; changed: () => void }) {
  const { api, t, language } = useApp();
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<unknown>();
  const { entry, occurrence } = props;
  if (entry.checkedIn) return <>{entry.checkedInAt === undefined ? '✓' : t('coachCheckedInAt', { time: formatClock(entry.checkedInAt, occurrence.timeZone, language) })}</>;
  async function checkIn() {
    setBusy(true);
    setRefusal(undefined);
    try {
      await checkInAthlete(api, occurrence, entry.userId);
      props.changed();
    } catch (error) {
      setRefusal(error);
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <button type="button" disabled={busy} onClick={() => void checkIn()}>
        {t('coachCheckInButton', { name: entry.displayName })}
      </button>
      {refusal === undefined ? null : <ProblemNote action="checkIn" error={refusal} />}
    </>
  );
}

export function RosterSection(props: { occurrence: Occurrence; entries: RosterEntry[]; checkInOpen: boolean; changed: () => void }) {
  const { t, language } = useApp();
  const groups = rosterGroups(props.entries, language);
  return (
    <>
      <section aria-labelledby="coach-roster-title">
        <h2 id="coach-roster-title">{t('coachRosterTitle')}</h2>
        {groups.booked.length === 0 ? (
          <p>{t('coachRosterEmpty')}</p>
        ) : (
          <>
            <p>{t('coachRosterCheckedIn', { checked: groups.checkedIn, booked: groups.booked.length })}</p>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('coachRosterAthlete')}</th>
                  <th scope="col">{t('coachRosterStraps')}</th>
                  <th scope="col">{t('coachRosterCheckIn')}</th>
                </tr>
              </thead>
              <tbody>
                {groups.booked.map((entry) => (
                  <tr key={entry.userId}>
                    <th scope="row">{entry.displayName}</th>
                    <td>
                      <Straps entry={entry} />
                    </td>
                    <td>{props.checkInOpen || entry.checkedIn ? <CheckIn occurrence={props.occurrence} entry={entry} changed={props.changed} /> : null}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
      <section aria-labelledby="coach-waitlist-title">
        <h2 id="coach-waitlist-title">{t('coachWaitlistTitle')}</h2>
        {groups.waitlist.length === 0 ? (
          <p>{t('coachWaitlistEmpty')}</p>
        ) : (
          <ol>
            {groups.waitlist.map((entry) => (
              <li key={entry.userId}>{entry.displayName}</li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}
