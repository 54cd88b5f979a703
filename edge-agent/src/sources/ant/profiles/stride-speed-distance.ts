/**
 * ANT+ Stride-based Speed and Distance monitor (foot pod), device type 124.
 *
 * Distance, strides and calories come as short wrapping counters. They are accumulated from the
 * difference between consecutive pages, fractions included: adding each page's fraction to an integer
 * count (as some libraries do) double-counts partial metres.
 */
import type { Measurement, SensorFacts } from '../../measurement.ts';
import { refused } from '../../measurement.ts';
import { commonPageFacts } from './common-pages.ts';
import { AntPage, counterDelta, decoded, type AntPageDecoder } from './page.ts';

export const STRIDE_SPEED_DISTANCE_DEVICE_TYPE = 124;
export const STRIDE_SPEED_DISTANCE_CHANNEL_PERIOD = 8134;

export interface StrideSpeedDistanceState {
  /** Last distance field in 1/16 m, wrapping at 256 m. */
  distanceSixteenths?: number;
  strides?: number;
  calories?: number;
  distanceM: number;
  strideCount: number;
  energyKcal: number;
}

/** 256 m in 1/16 m. */
const DISTANCE_MODULUS = 256 * 16;
const LOCATIONS = ['laces', 'midsole', 'other', 'ankle'] as const;
const BATTERY = ['new', 'good', 'ok', 'low'] as const;
const HEALTH: Record<number, string> = { 0: 'ok', 1: 'error', 2: 'warning' };

export const decodeStrideSpeedDistance: AntPageDecoder<StrideSpeedDistanceState> = (bytes, previous) => {
  const page = AntPage.from(bytes);
  if (typeof page === 'string') return refused(page);
  const before: StrideSpeedDistanceState = previous ?? { distanceM: 0, strideCount: 0, energyKcal: 0 };
  const state: StrideSpeedDistanceState = { ...before };
  const measurements: Measurement[] = [];
  let facts: SensorFacts | undefined;
  // Speed: integer m/s in the low nibble of byte 4, 1/256 m/s in byte 5, on pages 1-3.
  const speed = (page.u8(4) & 0x0f) + page.u8(5) / 256;

  switch (page.number) {
    case 1: {
      // Update latency: how long before this message the last stride event happened (1/32 s).
      const offsetMs = -(page.u8(7) / 32) * 1000;
      measurements.push({ metric: 'speed', value: speed, offsetMs });
      const distance = page.u8(3) * 16 + (page.u8(4) >> 4);
      if (before.distanceSixteenths !== undefined) {
        state.distanceM = before.distanceM + counterDelta(distance, before.distanceSixteenths, DISTANCE_MODULUS) / 16;
        measurements.push({ metric: 'distance', value: state.distanceM, offsetMs });
      }
      state.distanceSixteenths = distance;
      if (before.strides !== undefined) {
        state.strideCount = before.strideCount + counterDelta(page.u8(6), before.strides, 0x100);
        measurements.push({ metric: 'stride_count', value: state.strideCount, offsetMs });
      }
      state.strides = page.u8(6);
      break;
    }
    case 2:
    case 3: {
      // The profile counts strides (two steps); the catalogue's cadence for runners is steps per
      // minute, as BLE foot pods report it, so one athlete reads the same on either radio.
      const stridesPerMinute = page.u8(3) + (page.u8(4) >> 4) / 16;
      measurements.push({ metric: 'cadence', value: stridesPerMinute * 2 }, { metric: 'speed', value: speed });
      if (page.number === 3) {
        if (before.calories !== undefined) {
          state.energyKcal = before.energyKcal + counterDelta(page.u8(6), before.calories, 0x100);
          measurements.push({ metric: 'energy', value: state.energyKcal });
        }
        state.calories = page.u8(6);
      }
      const status = page.u8(7);
      facts = { location: LOCATIONS[status >> 6] ?? 'other', batteryStatus: BATTERY[(status >> 4) & 0x03] ?? 'ok' };
      const health = HEALTH[(status >> 2) & 0x03];
      if (health) facts.health = health;
      break;
    }
    default:
      facts = commonPageFacts(page);
  }
  return decoded(measurements, state, facts);
};
