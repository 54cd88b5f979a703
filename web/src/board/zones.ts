/**
 * Zone colours of the board, on its dark background. Okabe-Ito colours (told apart with the common forms of
 * colour blindness) in the order cool to hot, and the zone number is always printed too, so colour is never
 * the only cue. Each colour carries the text colour that reads best on it.
 */
export interface ZoneColour {
  background: string;
  text: string;
}

/** Index 0: rest (below 50 % of max); 1..5 the zones. */
export const ZONE_COLOURS: readonly ZoneColour[] = [
  { background: '#3a4250', text: '#ffffff' },
  { background: '#56b4e9', text: '#000000' },
  { background: '#009e73', text: '#000000' },
  { background: '#f0e442', text: '#000000' },
  { background: '#e69f00', text: '#000000' },
  { background: '#d55e00', text: '#000000' },
];

/** A tile without a zone (no maximum heart rate known). */
export const NO_ZONE_COLOUR: ZoneColour = { background: '#1f242c', text: '#e6e9ee' };
/** A strap that went quiet: dimmed, its last zone is stale (still AA contrast, so the text reads). */
export const QUIET_COLOUR: ZoneColour = { background: '#131619', text: '#9aa3b0' };

export function zoneColour(zone: number | undefined, quiet: boolean): ZoneColour {
  if (quiet) return QUIET_COLOUR;
  if (zone === undefined || !Number.isInteger(zone)) return NO_ZONE_COLOUR;
  return ZONE_COLOURS[zone] ?? NO_ZONE_COLOUR;
}

/** WCAG 2 contrast ratio of two #rrggbb colours. */
export function contrastRatio(a: string, b: string): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function luminance(hex: string): number {
  const channel = (at: number): number => {
    const c = parseInt(hex.slice(at, at + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}
