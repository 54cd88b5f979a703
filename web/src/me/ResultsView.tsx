/** A session's results: the figures, time in zones as one bar with a readable list under it, and the best efforts. */
import { useApp } from '../lib/context.tsx';
import { ZONE_SOLID_COLOURS } from './charts.ts';
import { formatDurationWords } from './format.ts';
import { shownResults } from './results.ts';
import type { Results, Session } from './types.ts';

export function ResultsView(props: { session: Session; results: Results }) {
  const { t, language } = useApp();
  const shown = shownResults(t, language, props.session, props.results);
  const percent = new Intl.NumberFormat(language, { maximumFractionDigits: 0 });
  return (
    <section aria-labelledby="me-results-title">
      <h2 id="me-results-title">{t('meResults')}</h2>
      {shown.revised ? <p class="me-note">{t('meRevised', { revision: props.session.revision })}</p> : null}
      <dl class="me-figures">
        {shown.figures.map((figure) => (
          <div key={figure.label}>
            <dt>{t(figure.label)}</dt>
            <dd>{figure.value}</dd>
          </div>
        ))}
      </dl>
      {shown.zones.length > 0 ? (
        <>
          <h3>{t('meZones')}</h3>
          <div class="me-zone-bar" aria-hidden="true">
            {shown.zones.map((zone) => (zone.percent > 0 ? <span key={zone.zone} style={{ width: `${zone.percent}%`, background: ZONE_SOLID_COLOURS[zone.zone - 1] }} /> : null))}
          </div>
          <ul class="me-zone-list">
            {shown.zones.map((zone) => (
              <li key={zone.zone}>
                <span class="me-dot" style={{ background: ZONE_SOLID_COLOURS[zone.zone - 1] }} aria-hidden="true" />
                {t('meZoneShare', { zone: zone.zone, duration: formatDurationWords(t, zone.seconds), percent: percent.format(zone.percent) })}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {shown.records.length > 0 ? (
        <>
          <h3>{t('meRecords')}</h3>
          <dl class="me-figures">
            {shown.records.map((record) => (
              <div key={record.label}>
                <dt>{t(record.label)}</dt>
                <dd>{record.value}</dd>
              </div>
            ))}
          </dl>
        </>
      ) : null}
    </section>
  );
}
