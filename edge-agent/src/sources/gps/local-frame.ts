/**
 * A local east/north plane in metres around an origin, for filtering GPS tracks. An equirectangular
 * projection is exact enough for the few kilometres a gym's outdoor session covers (error well under
 * 0.1 % within 10 km of the origin) and cheap on a Raspberry Pi.
 */

/** Mean Earth radius (IUGG), the one haversine distances use. */
export const EARTH_RADIUS_M = 6_371_008.8;
const RADIANS = Math.PI / 180;

export class LocalFrame {
  private readonly originLatitude: number;
  private readonly originLongitude: number;
  private readonly metresPerDegreeLatitude = EARTH_RADIUS_M * RADIANS;
  private readonly metresPerDegreeLongitude: number;

  constructor(originLatitude: number, originLongitude: number) {
    this.originLatitude = originLatitude;
    this.originLongitude = originLongitude;
    this.metresPerDegreeLongitude = EARTH_RADIUS_M * RADIANS * Math.cos(originLatitude * RADIANS);
  }

  toLocal(latitude: number, longitude: number): { east: number; north: number } {
    let deltaLongitude = longitude - this.originLongitude;
    // Across the antimeridian the short way round is the right one.
    if (deltaLongitude > 180) deltaLongitude -= 360;
    else if (deltaLongitude < -180) deltaLongitude += 360;
    return { east: deltaLongitude * this.metresPerDegreeLongitude, north: (latitude - this.originLatitude) * this.metresPerDegreeLatitude };
  }

  toGeodetic(east: number, north: number): { latitude: number; longitude: number } {
    let longitude = this.originLongitude + east / this.metresPerDegreeLongitude;
    if (longitude > 180) longitude -= 360;
    else if (longitude < -180) longitude += 360;
    return { latitude: this.originLatitude + north / this.metresPerDegreeLatitude, longitude };
  }
}

/** Great-circle distance in metres. */
export function haversineM(latitudeA: number, longitudeA: number, latitudeB: number, longitudeB: number): number {
  const dLat = (latitudeB - latitudeA) * RADIANS;
  const dLon = (longitudeB - longitudeA) * RADIANS;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(latitudeA * RADIANS) * Math.cos(latitudeB * RADIANS) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}
