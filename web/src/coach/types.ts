/**
 * The API's answers the coach pages read, as the hub's operations tables describe them (classes-operations.ts,
 * runs-operations.ts, pairing-operations.ts, gyms-operations.ts, sessions-schemas.ts): only the fields used here.
 */

export interface GymSettings {
  id: string;
  name: string;
  /** IANA time zone the gym's classes recur in. */
  timeZone: string;
}

export interface ClassInfo {
  id: string;
  gym: string;
  name: string;
  room: string;
  capacity: number;
}

export interface Occurrence {
  class: string;
  /** The occurrence's identity (used in paths), UTC. */
  start: string;
  startsAt: string;
  endsAt: string;
  timeZone: string;
  name: string;
  room: string;
  capacity: number;
  booked: number;
  waitlisted: number;
  cancelled: boolean;
}

export type SensorKind = 'own' | 'loaner' | 'equipment';

export interface RosterEntry {
  userId: string;
  displayName: string;
  status: 'booked' | 'waitlisted';
  position?: number;
  checkedIn: boolean;
  checkedInAt?: string;
  bookedAt: string;
  sensors: { sensor: string; kind: SensorKind; label?: string; equipment?: string }[];
}

export interface Roster {
  occurrence: Occurrence;
  items: RosterEntry[];
}

export interface ClassRun {
  id: string;
  gym: string;
  class: string;
  occurrenceStart: string;
  scheduledStart: string;
  scheduledEnd: string;
  state: 'running' | 'ended';
  startedAt: string;
  startedBy: string;
  endedAt?: string;
  endedBy?: string;
}

export interface SessionResults {
  durationS: number;
  averageHeartRateBpm?: number;
  maxHeartRateBpm?: number;
  heartRate?: { averageBpm: number; maxBpm: number; effortPoints: number; secondsInZone: number[] };
  calories: { kcal?: number; unavailable?: string };
  power?: { averageW: number; maxW: number };
  distanceM?: number;
}

export interface Session {
  id: string;
  athlete: string;
  state: 'live' | 'completed';
  recomputing: boolean;
  startedAt: string;
  endedAt?: string;
  results?: SessionResults;
}

export interface RunResult {
  athlete: string;
  displayName: string;
  session: Session;
}

export interface Leaderboard {
  metric: string;
  items: { rank: number; athlete?: string; name: string; value: number; sessions: number; you: boolean }[];
}

export interface GymSensor {
  id: string;
  gym: string;
  sensor: string;
  kind: string;
  label?: string;
}

export interface Binding {
  id: string;
  sensor: string;
  athlete: string;
  kind: SensorKind;
  active: boolean;
  gymSensor?: string;
  until?: string;
}

export interface Member {
  userId: string;
  displayName: string;
  roles: string[];
}

export interface Booking {
  user: string;
  status: 'booked' | 'waitlisted' | 'cancelled';
  position?: number;
}
