/**
 * The route of a GPS session as an SVG line with start and finish markers, projected without map tiles (the app
 * works offline on the gym's network). Screen readers get it as one labelled image.
 */
import { useMemo } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { formatDistance } from './format.ts';
import { projectTrack } from './track.ts';

const BOX = { width: 600, height: 360, margin: 16 };

export function TrackMap(props: { latlng: readonly ([number, number] | null)[]; distanceM: number | undefined }) {
  const { t, language } = useApp();
  const track = useMemo(() => projectTrack(props.latlng, BOX), [props.latlng]);
  if (track === undefined) return null;
  const label = props.distanceM === undefined ? t('meMapLabelNoDistance') : t('meMapLabel', { distance: formatDistance(language, props.distanceM) });
  return (
    <figure class="me-map">
      <figcaption>{t('meMap')}</figcaption>
      <svg viewBox={`0 0 ${BOX.width} ${BOX.height}`} role="img" aria-label={label} preserveAspectRatio="xMidYMid meet">
        <title>{label}</title>
        <rect x="0" y="0" width={BOX.width} height={BOX.height} class="me-map-ground" />
        <path d={track.path} class="me-map-track" fill="none" />
        <circle cx={track.start.x} cy={track.start.y} r="7" class="me-map-start">
          <title>{t('meMapStart')}</title>
        </circle>
        <circle cx={track.finish.x} cy={track.finish.y} r="7" class="me-map-finish">
          <title>{t('meMapFinish')}</title>
        </circle>
      </svg>
      <p class="me-map-legend">
        <span class="me-dot me-map-start" aria-hidden="true" /> {t('meMapStart')} <span class="me-dot me-map-finish" aria-hidden="true" /> {t('meMapFinish')}
      </p>
    </figure>
  );
}
