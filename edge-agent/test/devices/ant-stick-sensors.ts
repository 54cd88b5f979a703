/**
 * Simulated ANT+ sensors for the simulated stick: each produces the next 8-byte page of its profile,
 * with counters that advance like a real sensor's so the real decoders derive plausible values.
 */

export interface SimulatedAntSensor {
  deviceNumber: number;
  deviceType: number;
  transmissionType: number;
  /** Channel period of the profile, 1/32768 s. */
  period: number;
  nextPage(timeS: number): Uint8Array;
}

const PROFILES = ['heart_rate', 'speed_cadence', 'bike_power', 'fitness_equipment'] as const;

/** `count` sensors of mixed profiles; every fifth uses a 20-bit device number (upper nibble in the transmission type). */
export function simulatedSensors(count: number): SimulatedAntSensor[] {
  const sensors: SimulatedAntSensor[] = [];
  for (let i = 0; i < count; i++) {
    const kind = PROFILES[i % PROFILES.length] ?? 'heart_rate';
    const extended = i % 5 === 4;
    const deviceNumber = (extended ? 0x30000 : 0) + 1000 + i * 37;
    const baseTransmission = kind === 'heart_rate' ? 0x01 : 0x05;
    const transmissionType = baseTransmission | ((deviceNumber >> 16) << 4);
    switch (kind) {
      case 'heart_rate':
        sensors.push(heartRate(deviceNumber, transmissionType, 110 + (i % 50)));
        break;
      case 'speed_cadence':
        sensors.push(speedCadence(deviceNumber, transmissionType, 80 + (i % 20), 7 + (i % 5)));
        break;
      case 'bike_power':
        sensors.push(bikePower(deviceNumber, transmissionType, 150 + i * 3, 85 + (i % 10)));
        break;
      case 'fitness_equipment':
        sensors.push(fitnessEquipment(deviceNumber, transmissionType, 180 + i * 2, 8 + (i % 4)));
        break;
    }
  }
  return sensors;
}

export function expectedSensorIds(count: number): string[] {
  return simulatedSensors(count).map((s) => `ant:${s.deviceType}:${s.deviceNumber}:${s.transmissionType}`);
}

function heartRate(deviceNumber: number, transmissionType: number, bpm: number): SimulatedAntSensor {
  let messages = 0;
  let beatCount = 0;
  let lastBeat = 0;
  let previousBeat = 0;
  // The strap's clock starts with a beat at 0, so every interval, the first included, is 60 / bpm.
  let nextBeatS = 60 / bpm;
  return {
    deviceNumber,
    deviceType: 120,
    transmissionType,
    period: 8070,
    nextPage(timeS) {
      while (nextBeatS <= timeS) {
        previousBeat = lastBeat;
        lastBeat = Math.round(nextBeatS * 1024) & 0xffff;
        beatCount = (beatCount + 1) & 0xff;
        nextBeatS += 60 / bpm;
      }
      const toggle = Math.floor(messages / 4) % 2 === 1 ? 0x80 : 0;
      messages++;
      const page = new Uint8Array(8);
      if (messages % 65 === 0) {
        // Page 7: battery 80 %, 3 + 0x66/256 V, status good.
        page.set([0x07 | toggle, 80, 0x66, 0x23]);
      } else if (messages % 33 === 0) {
        // Page 2: manufacturer 1 (Garmin), serial upper half.
        page.set([0x02 | toggle, 1, 0x34, 0x12]);
      } else {
        page.set([0x04 | toggle, 0xff, previousBeat & 0xff, previousBeat >> 8]);
      }
      page.set([lastBeat & 0xff, lastBeat >> 8, beatCount, bpm], 4);
      return page;
    },
  };
}

function speedCadence(deviceNumber: number, transmissionType: number, rpm: number, speedMs: number): SimulatedAntSensor {
  let crankRevs = 0;
  let crankTime = 0;
  let nextCrankS = 60 / rpm;
  let wheelRevs = 0;
  let wheelTime = 0;
  const wheelPeriodS = 2.105 / speedMs;
  let nextWheelS = wheelPeriodS;
  return {
    deviceNumber,
    deviceType: 121,
    transmissionType,
    period: 8086,
    nextPage(timeS) {
      while (nextCrankS <= timeS) {
        crankRevs = (crankRevs + 1) & 0xffff;
        crankTime = Math.round(nextCrankS * 1024) & 0xffff;
        nextCrankS += 60 / rpm;
      }
      while (nextWheelS <= timeS) {
        wheelRevs = (wheelRevs + 1) & 0xffff;
        wheelTime = Math.round(nextWheelS * 1024) & 0xffff;
        nextWheelS += wheelPeriodS;
      }
      return new Uint8Array([crankTime & 0xff, crankTime >> 8, crankRevs & 0xff, crankRevs >> 8, wheelTime & 0xff, wheelTime >> 8, wheelRevs & 0xff, wheelRevs >> 8]);
    },
  };
}

function bikePower(deviceNumber: number, transmissionType: number, watts: number, cadence: number): SimulatedAntSensor {
  let events = 0;
  let accumulated = 0;
  let messages = 0;
  return {
    deviceNumber,
    deviceType: 11,
    transmissionType,
    period: 8182,
    nextPage() {
      messages++;
      if (messages % 61 === 0) return new Uint8Array([0x50, 0xff, 0xff, 0x01, 0x20, 0x00, 0x17, 0x00]);
      events = (events + 1) & 0xff;
      accumulated = (accumulated + watts) & 0xffff;
      return new Uint8Array([0x10, events, 0xff, cadence, accumulated & 0xff, accumulated >> 8, watts & 0xff, watts >> 8]);
    },
  };
}

function fitnessEquipment(deviceNumber: number, transmissionType: number, watts: number, speedMs: number): SimulatedAntSensor {
  let messages = 0;
  let events = 0;
  let accumulated = 0;
  return {
    deviceNumber,
    deviceType: 17,
    transmissionType,
    period: 8192,
    nextPage(timeS) {
      messages++;
      if (messages % 2 === 0) {
        const elapsed = Math.floor(timeS * 4) & 0xff;
        const distance = Math.floor(timeS * speedMs) & 0xff;
        const speed = Math.round(speedMs * 1000);
        // General FE data: trainer (25), no heart rate source, state in use (3).
        return new Uint8Array([0x10, 25, elapsed, distance, speed & 0xff, speed >> 8, 0xff, 0x30]);
      }
      events = (events + 1) & 0xff;
      accumulated = (accumulated + watts) & 0xffff;
      return new Uint8Array([0x19, events, 90, accumulated & 0xff, accumulated >> 8, watts & 0xff, (watts >> 8) & 0x0f, 0x30]);
    },
  };
}
