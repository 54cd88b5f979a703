/**
 * One time chart drawn by uPlot (bundled, no CDN): a line over the session's seconds, optionally with the five
 * heart-rate zone bands painted behind it. The canvas is an image to screen readers, named by its caption;
 * the figures it shows are in the results beside it.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { CLOCK_AXIS_STEPS_S, type SeriesData, type ZoneBand } from './charts.ts';
import { formatDuration } from './format.ts';

export interface ChartProps {
  id: string;
  title: string;
  data: SeriesData;
  colour: string;
  /** Label of the value in the cursor's readout. */
  unit: string;
  bands?: ZoneBand[];
  range?: [number, number];
  /** Values are seconds (pace): written as m:ss, and smaller is better so it is drawn upwards. */
  clock?: boolean;
}

const HEIGHT = 220;

function zoneBandsPlugin(bands: readonly ZoneBand[]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u) => {
        const { ctx, bbox } = u;
        ctx.save();
        ctx.beginPath();
        ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
        ctx.clip();
        for (const band of bands) {
          const top = u.valToPos(band.to, 'y', true);
          const bottom = u.valToPos(band.from, 'y', true);
          ctx.fillStyle = band.colour;
          ctx.fillRect(bbox.left, top, bbox.width, bottom - top);
        }
        ctx.restore();
      },
    },
  };
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    // Canvas cannot read CSS custom properties: take the theme's text colour from the element itself.
    const ink = getComputedStyle(element).color;
    const grid = { stroke: 'rgba(128,128,128,0.3)', width: 1 };
    const value = (v: number) => (props.clock ? formatDuration(v) : String(Math.round(v)));
    const options: uPlot.Options = {
      width: Math.max(280, element.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: {
        x: { time: false },
        y: { ...(props.range ? { range: props.range } : {}), ...(props.clock ? { dir: -1 as const } : {}) },
      },
      axes: [
        { stroke: ink, grid, incrs: CLOCK_AXIS_STEPS_S, values: (_u, splits) => splits.map((s) => formatDuration(s)) },
        { stroke: ink, grid, size: 60, ...(props.clock ? { incrs: CLOCK_AXIS_STEPS_S } : {}), values: (_u, splits) => splits.map(value) },
      ],
      series: [{}, { label: props.unit, stroke: props.colour, width: 2, spanGaps: false }],
      plugins: props.bands && props.bands.length > 0 ? [zoneBandsPlugin(props.bands)] : [],
    };
    const plot = new uPlot(options, props.data, element);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [props.data, props.bands, props.range, props.colour, props.clock, props.unit]);
  return (
    <figure class="me-chart">
      <figcaption id={`${props.id}-title`}>{props.title}</figcaption>
      <div ref={box} role="img" aria-labelledby={`${props.id}-title`} />
    </figure>
  );
}
