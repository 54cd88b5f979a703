/**
 * A GPS track drawn as SVG without map tiles (the app works offline on the gym's network): an equirectangular
 * projection (longitude scaled by the cosine of the track's middle latitude, so shapes keep their proportions),
 * fitted into the box with a margin and centred. Pure: tested in web/test/me-track.test.ts.
 */

export interface Point {
  x: number;
  y: number;
}

export interface ProjectedTrack {
  /** The SVG path (`d`): one subpath per run of positions; a gap without positions starts a new one. */
  path: string;
  start: Point;
  finish: Point;
}

export interface Box {
  width: number;
  height: number;
  margin: number;
}

type LatLng = readonly [number, number] | null | undefined;

function valid(point: LatLng): point is readonly [number, number] {
  return point !== null && point !== undefined && Number.isFinite(point[0]) && Number.isFinite(point[1]) && Math.abs(point[0]) <= 90 && Math.abs(point[1]) <= 180;
}

/** The track in the box, or undefined when it has no position at all. */
export function projectTrack(latlng: readonly LatLng[], box: Box): ProjectedTrack | undefined {
  const points = latlng.filter(valid);
  if (points.length === 0) return undefined;
  let minLat = Infinity;
  let maxLat = -Infinity;
  let minLng = Infinity;
  let maxLng = -Infinity;
  for (const [lat, lng] of points) {
    minLat = Math.min(minLat, lat);
    maxLat = Math.max(maxLat, lat);
    minLng = Math.min(minLng, lng);
    maxLng = Math.max(maxLng, lng);
  }
  const cos = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const spanX = (maxLng - minLng) * cos;
  const spanY = maxLat - minLat;
  const innerW = Math.max(0, box.width - 2 * box.margin);
  const innerH = Math.max(0, box.height - 2 * box.margin);
  // A single point or a straight north-south/east-west line has no span in one axis: the other sets the scale.
  const scale = Math.min(spanX > 0 ? innerW / spanX : Infinity, spanY > 0 ? innerH / spanY : Infinity);
  const k = Number.isFinite(scale) ? scale : 0;
  const offsetX = box.margin + (innerW - spanX * k) / 2;
  const offsetY = box.margin + (innerH - spanY * k) / 2;
  const project = ([lat, lng]: readonly [number, number]): Point => ({
    x: round(offsetX + (lng - minLng) * cos * k),
    // SVG's y grows downwards, latitude upwards.
    y: round(offsetY + (maxLat - lat) * k),
  });

  const parts: string[] = [];
  let drawing = false;
  for (const point of latlng) {
    if (!valid(point)) {
      drawing = false;
      continue;
    }
    const { x, y } = project(point);
    parts.push(`${drawing ? 'L' : 'M'}${x} ${y}`);
    drawing = true;
  }
  return { path: parts.join(' '), start: project(points[0]!), finish: project(points[points.length - 1]!) };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
