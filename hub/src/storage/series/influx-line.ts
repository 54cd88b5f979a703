/** Line protocol and InfluxQL quoting, shared by the readings and the unsynced readings of InfluxSeriesStore. */

// Line protocol escapes these three in tag values; series-query.ts refuses the characters it cannot escape.
export const escapeTag = (value: string): string => value.replace(/[,= ]/g, '\\$&');

/** An InfluxQL string literal. */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export const nanos = (ms: number): string => (BigInt(ms) * 1_000_000n).toString();
