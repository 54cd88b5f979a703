/** After a class: every athlete's session with its figures, and the opt-in leaderboard by a chosen figure. */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import type { TextKey } from '../i18n/index.ts';
import { loadLeaderboard, loadResults } from './coach-api.ts';
import { formatDuration, LEADERBOARD_METRICS, resultRows, type LeaderboardMetric } from './logic.ts';
import { LoadedView, useLoaded } from './shared.tsx';

const METRIC_TEXT: Record<LeaderboardMetric, TextKey> = {
  effortPoints: 'coachMetricEffortPoints',
  kcal: 'coachMetricKcal',
  averagePowerW: 'coachMetricAveragePowerW',
  distanceM: 'coachMetricDistanceM',
};

/** `loadedAt` changes when the page reloaded: results still being computed then show once they are. */
export function ResultsSection(props: { runId: string; loadedAt: number }) {
  const { api, t, language } = useApp();
  const { loaded, reload } = useLoaded(() => loadResults(api, props.runId), [api, props.runId, props.loadedAt]);
  const number = new Intl.NumberFormat(language);
  const km = new Intl.NumberFormat(language, { maximumFractionDigits: 2 });
  const figure = (value: number | undefined) => (value === undefined ? '–' : number.format(value));
  return (
    <section aria-labelledby="coach-results-title">
      <h2 id="coach-results-title">{t('coachResultsTitle')}</h2>
      <LoadedView loaded={loaded} retry={reload}>
        {(results) => {
          const rows = resultRows(results, language);
          if (rows.length === 0) return <p>{t('coachResultsEmpty')}</p>;
          return (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('coachResultsName')}</th>
                  <th scope="col">{t('coachResultsDuration')}</th>
                  <th scope="col">{t('coachResultsAvgHr')}</th>
                  <th scope="col">{t('coachResultsMaxHr')}</th>
                  <th scope="col">{t('coachResultsEffort')}</th>
                  <th scope="col">{t('coachResultsKcal')}</th>
                  <th scope="col">{t('coachResultsPower')}</th>
                  <th scope="col">{t('coachResultsDistance')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <tr key={row.athlete}>
                    <th scope="row">
                      {row.name}
                      {row.pending ? <> ({t('coachResultsPending')})</> : null}
                    </th>
                    <td>{row.durationS === undefined ? '–' : formatDuration(row.durationS)}</td>
                    <td>{figure(row.averageHeartRateBpm)}</td>
                    <td>{figure(row.maxHeartRateBpm)}</td>
                    <td>{figure(row.effortPoints)}</td>
                    <td>{figure(row.kcal)}</td>
                    <td>{figure(row.averagePowerW)}</td>
                    <td>{row.distanceM === undefined ? '–' : km.format(row.distanceM / 1000)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </LoadedView>
      <LeaderboardView runId={props.runId} />
    </section>
  );
}

function LeaderboardView(props: { runId: string }) {
  const { api, t, language } = useApp();
  const [metric, setMetric] = useState<LeaderboardMetric>('effortPoints');
  const { loaded, reload } = useLoaded(() => loadLeaderboard(api, props.runId, metric), [api, props.runId, metric]);
  const number = new Intl.NumberFormat(language, { maximumFractionDigits: metric === 'distanceM' ? 0 : 1 });
  return (
    <section aria-labelledby="coach-leaderboard-title">
      <h3 id="coach-leaderboard-title">{t('coachLeaderboardTitle')}</h3>
      <label for="coach-leaderboard-metric">{t('coachLeaderboardMetric')}</label>{' '}
      <select id="coach-leaderboard-metric" value={metric} onChange={(event) => setMetric(event.currentTarget.value as LeaderboardMetric)}>
        {LEADERBOARD_METRICS.map((m) => (
          <option key={m} value={m}>
            {t(METRIC_TEXT[m])}
          </option>
        ))}
      </select>
      <LoadedView loaded={loaded} retry={reload}>
        {(board) =>
          board.items.length === 0 ? (
            <p>{t('coachLeaderboardEmpty')}</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('coachLeaderboardRank')}</th>
                  <th scope="col">{t('coachResultsName')}</th>
                  <th scope="col">{t(METRIC_TEXT[metric])}</th>
                </tr>
              </thead>
              <tbody>
                {board.items.map((item) => (
                  <tr key={`${item.rank}-${item.name}`} aria-current={item.you ? 'true' : undefined}>
                    <td>{item.rank}</td>
                    <th scope="row">{item.name}</th>
                    <td>{number.format(item.value)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </LoadedView>
    </section>
  );
}
