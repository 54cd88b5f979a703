/** The charts of a session (heart rate over its zone bands, power, pace or speed) and its route, from its streams at medium resolution. */
import { useMemo } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { Chart } from './Chart.tsx';
import { chartsData, heartRateRange, zoneBands } from './charts.ts';
import { TrackMap } from './TrackMap.tsx';
import type { Session, SessionStreams } from './types.ts';
import { Load, useLoad } from './ui.tsx';

export function SessionCharts({ session }: { session: Session }) {
  const { api } = useApp();
  const { loaded, reload } = useLoad(
    () => api.get<SessionStreams>(`/sessions/${encodeURIComponent(session.id)}/streams`, { resolution: 'medium' }),
    [session.id, session.revision],
  );
  return (
    <Load loaded={loaded} reload={reload}>
      {(streams) => <Charts session={session} streams={streams} />}
    </Load>
  );
}

function Charts({ session, streams }: { session: Session; streams: SessionStreams }) {
  const { t } = useApp();
  const charts = useMemo(() => chartsData(streams, session.sport), [streams, session.sport]);
  const heart = session.results?.heartRate;
  const bands = useMemo(() => (heart ? zoneBands(heart.maxHeartRateUsed, heart.maxBpm) : []), [heart]);
  const range = useMemo(() => (charts.heartRate ? heartRateRange(charts.heartRate[1], bands) : undefined), [charts, bands]);
  const latlng = streams.streams.latlng?.data;
  const any = charts.heartRate || charts.power || charts.speed || charts.pace;
  return (
    <section aria-labelledby="me-charts-title">
      <h2 id="me-charts-title">{t('meCharts')}</h2>
      {any ? null : <p>{t('meNoStreams')}</p>}
      {charts.heartRate ? (
        <Chart id="me-chart-hr" title={t('meChartHeartRate')} data={charts.heartRate} colour="#dc2626" unit="bpm" bands={bands} {...(range ? { range } : {})} />
      ) : null}
      {charts.power ? <Chart id="me-chart-power" title={t('meChartPower')} data={charts.power} colour="#7c3aed" unit="W" /> : null}
      {charts.pace ? <Chart id="me-chart-pace" title={t('meChartPace')} data={charts.pace} colour="#0284c7" unit="/km" clock /> : null}
      {charts.speed ? <Chart id="me-chart-speed" title={t('meChartSpeed')} data={charts.speed} colour="#0284c7" unit="km/h" /> : null}
      {latlng && latlng.some((p) => p !== null) ? <TrackMap latlng={latlng} distanceM={session.results?.distanceM} /> : null}
    </section>
  );
}
