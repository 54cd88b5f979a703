/** How long ago a quiet strap was last heard, as the text key and count the tile shows. */
export type LastSeen = { key: 'boardNeverSeen' } | { key: 'boardSeenSeconds' | 'boardSeenMinutes' | 'boardSeenHours'; count: number };

/** Whole seconds under a minute, whole minutes under an hour, then hours; a clock ahead of the hub reads as 0 s. */
export function lastSeen(lastSeenAt: string | undefined, nowMs: number): LastSeen {
  const at = lastSeenAt === undefined ? NaN : Date.parse(lastSeenAt);
  if (Number.isNaN(at)) return { key: 'boardNeverSeen' };
  const seconds = Math.max(0, Math.floor((nowMs - at) / 1000));
  if (seconds < 60) return { key: 'boardSeenSeconds', count: seconds };
  if (seconds < 3600) return { key: 'boardSeenMinutes', count: Math.floor(seconds / 60) };
  return { key: 'boardSeenHours', count: Math.floor(seconds / 3600) };
}
