/**
 * The park loop outdoor athletes run: a stadium shape (two straights joined by half circles) with a gentle
 * hill, starting at the configured point in the middle of one straight.
 */

const EARTH_RADIUS_M = 6_371_008.8;
const DEGREES = 180 / Math.PI;
/** Straight length relative to the bend radius: an elongated loop, as paths around a park tend to be. */
const STRAIGHT_TO_RADIUS = 2.5;
const HILL_HEIGHT_M = 6;

export interface TrackPoint {
  latitude: number;
  longitude: number;
  altitude: number;
  /** Course over ground, degrees clockwise from true north, in [0, 360). */
  heading: number;
}

export interface ParkLoopOptions {
  latitude: number;
  longitude: number;
  altitude: number;
  loopMeters: number;
  /** Orientation of the loop's first straight, degrees clockwise from east. */
  rotationDeg: number;
}

export class ParkLoop {
  readonly loopMeters: number;
  private readonly options: ParkLoopOptions;
  private readonly radius: number;
  private readonly straight: number;
  private readonly cos: number;
  private readonly sin: number;
  private readonly metersPerDegreeLon: number;

  constructor(options: ParkLoopOptions) {
    this.options = options;
    this.loopMeters = options.loopMeters;
    this.radius = options.loopMeters / (2 * Math.PI + 2 * STRAIGHT_TO_RADIUS);
    this.straight = STRAIGHT_TO_RADIUS * this.radius;
    const rotation = (-options.rotationDeg * Math.PI) / 180;
    this.cos = Math.cos(rotation);
    this.sin = Math.sin(rotation);
    this.metersPerDegreeLon = (EARTH_RADIUS_M * Math.cos(options.latitude / DEGREES)) / DEGREES;
  }

  /**
   * The point `meters` along the loop from the start. `offsetEast`/`offsetNorth` shift the reported fix
   * (receiver error) without changing the course.
   */
  locate(meters: number, clockwise: boolean, offsetEast = 0, offsetNorth = 0): TrackPoint {
    const along = ((meters % this.loopMeters) + this.loopMeters) % this.loopMeters;
    const [x, y] = this.local(along, clockwise);
    const [xNext, yNext] = this.local((along + 0.5) % this.loopMeters, clockwise);
    const [east, north] = this.rotate(x, y);
    const [eastNext, northNext] = this.rotate(xNext, yNext);
    let heading = Math.atan2(eastNext - east, northNext - north) * DEGREES;
    if (heading < 0) heading += 360;
    const hill = HILL_HEIGHT_M * Math.sin((2 * Math.PI * along) / this.loopMeters) + 0.3 * HILL_HEIGHT_M * Math.sin((4 * Math.PI * along) / this.loopMeters + 1);
    return {
      latitude: this.options.latitude + ((north + offsetNorth) / EARTH_RADIUS_M) * DEGREES,
      longitude: wrapLongitude(this.options.longitude + (east + offsetEast) / this.metersPerDegreeLon),
      altitude: this.options.altitude + hill,
      heading: heading >= 360 ? heading - 360 : heading,
    };
  }

  /** Stadium in local metres: start at the origin, first straight along +x, loop centre at (0, radius). */
  private local(along: number, clockwise: boolean): [number, number] {
    const { straight: a, radius: r } = this;
    const halfStraight = a / 2;
    const bend = Math.PI * r;
    let x: number;
    let y: number;
    if (along < halfStraight) {
      x = along;
      y = 0;
    } else if (along < halfStraight + bend) {
      const angle = (along - halfStraight) / r;
      x = halfStraight + r * Math.sin(angle);
      y = r - r * Math.cos(angle);
    } else if (along < halfStraight + bend + a) {
      x = halfStraight - (along - halfStraight - bend);
      y = 2 * r;
    } else if (along < halfStraight + 2 * bend + a) {
      const angle = (along - halfStraight - bend - a) / r;
      x = -halfStraight - r * Math.sin(angle);
      y = r + r * Math.cos(angle);
    } else {
      x = -halfStraight + (along - halfStraight - 2 * bend - a);
      y = 0;
    }
    // Running the other way round is the mirror image across the first straight.
    return clockwise ? [x, -y] : [x, y];
  }

  private rotate(x: number, y: number): [number, number] {
    return [x * this.cos - y * this.sin, x * this.sin + y * this.cos];
  }
}

function wrapLongitude(longitude: number): number {
  if (longitude > 180) return longitude - 360;
  if (longitude < -180) return longitude + 360;
  return longitude;
}
