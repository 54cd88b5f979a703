/**
 * The shapes of the API answers the athlete pages read, as hub/src/api/*-operations.ts and sessions-schemas.ts
 * describe them (the OpenAPI document). Only the fields the pages use are spelled out.
 */

export type SessionKind = 'class' | 'personal' | 'imported';

export interface Results {
  durationS: number;
  averageHeartRateBpm?: number;
  maxHeartRateBpm?: number;
  heartRate?: {
    averageBpm: number;
    maxBpm: number;
    maxHeartRateUsed: number;
    maxHeartRateSource: 'profile' | 'age';
    secondsInZone: number[];
    effortPointsByZone: number[];
    effortPoints: number;
  };
  calories: { kcal?: number; unavailable?: string };
  power?: { averageW: number; maxW: number; weightedW?: number };
  distanceM?: number;
  averagePaceSPerKm?: number;
  averageSpeedMps?: number;
  elevationGainM?: number;
  records: { bestPowerW: Record<string, number>; fastestS: Record<string, number> };
}

export interface Session {
  id: string;
  athlete: string;
  kind: SessionKind;
  gym?: string;
  run?: string;
  class?: string;
  name: string;
  sport: string;
  state: 'live' | 'completed';
  startedAt: string;
  endedAt?: string;
  revision: number;
  changedAt?: string;
  recomputing: boolean;
  results?: Results;
  source?: { format: string; fileName?: string };
}

interface Stream<T> {
  data: T[];
  originalSize: number;
  resolution: string;
}

export interface SessionStreams {
  session: string;
  revision: number;
  resolution: string;
  originalSize: number;
  size: number;
  streams: {
    time?: Stream<number>;
    heartrate?: Stream<number | null>;
    watts?: Stream<number | null>;
    cadence?: Stream<number | null>;
    velocity?: Stream<number | null>;
    distance?: Stream<number | null>;
    latlng?: Stream<[number, number] | null>;
    altitude?: Stream<number | null>;
  };
}

export interface Booking {
  id: string;
  class: string;
  className: string;
  gym: string;
  start: string;
  startsAt: string;
  user: string;
  status: 'booked' | 'waitlisted' | 'cancelled';
  position?: number;
  checkedIn: boolean;
  createdAt: string;
}

export interface Binding {
  id: string;
  gym: string;
  sensor: string;
  athlete: string;
  kind: 'own' | 'loaner' | 'equipment';
  active: boolean;
  from: string;
  until?: string;
  label?: string;
  classId?: string;
  equipment?: string;
}

export interface DiscoveryWindow {
  windowId: string;
  gym: string;
  until: string;
}

export interface Candidate {
  sensor: string;
  kind: string;
  rssi: number | null;
  agent: string;
  seenAt: string;
}

export interface Discovery extends DiscoveryWindow {
  open: boolean;
  candidates: Candidate[];
}

export interface Person {
  userId: string;
  displayName: string;
  since: string;
}

export const RESULTS_VISIBILITY = ['only_me', 'friends', 'gym', 'everyone'] as const;
export const BOARD_VISIBILITY = ['name', 'alias', 'hidden'] as const;
export const SEXES = ['female', 'male', 'unspecified'] as const;

export interface Profile {
  userId: string;
  email: string;
  displayName: string;
  birthDate?: string;
  sex?: (typeof SEXES)[number];
  weightKg?: number;
  heightCm?: number;
  maxHeartRate?: number;
  restingHeartRate?: number;
  ftpWatts?: number;
  resultsVisibility: (typeof RESULTS_VISIBILITY)[number];
  boardVisibility: (typeof BOARD_VISIBILITY)[number];
  boardAlias?: string;
  leaderboards: boolean;
  maxHeartRateInUse: { bpm: number; source: 'test' } | { bpm: number; source: 'formula'; formula: 'tanaka'; age: number } | null;
  updatedAt: string | null;
}
