/**
 * The walker shared by the Fitness Machine Service data characteristics (service 0x1826): Treadmill,
 * Indoor Bike, Rower, Cross Trainer and Stair Climber Data. Each machine is a table of flag bits and the
 * fields they gate, in wire order, so the machine files only describe their layout and which fields are
 * readings.
 *
 * Rules common to all of them:
 * - Bit 0 ("More Data") is inverted: clear means the first field is present. A server splitting one record
 *   over several notifications sets it on the packets without that field; every packet still describes
 *   itself through its flags, so each one decodes on its own.
 * - The consumed length should equal the PDU length. When it does not, the alternative layouts (known
 *   spec-versus-device disagreements) are tried in order and the one that fits exactly is reported as a fact.
 *
 * Real machines bend the spec: a Concept2 PM5 appends one byte the flags do not announce, some commercial
 * treadmills four, walking pads set reserved flag bits. Those records still carry every announced field in
 * its place, so they are decoded and the deviation is returned as a quirk for the source to count. A
 * record shorter than its flags announce is refused: its fields cannot be placed safely.
 */
import type { MetricId } from '@pulsebridge/protocol';
import { refused } from '../../measurement.ts';
import { FIELD_SIZE, MeasurementList, hex, kmhToMetresPerSecond, readField, type BleDecoded, type BleProfile, type FieldType } from './profile.ts';

export interface FieldSpec<Name extends string> {
  name: Name;
  type: FieldType;
  /** value = raw * multiplier / divisor */
  divisor?: number;
  multiplier?: number;
  /** Raw value the spec reserves for "data not available"; the field is then left out. */
  unavailable?: number;
}

export interface FlagGroup<Name extends string> {
  bit: number;
  fields: FieldSpec<Name>[];
  /** For bits that carry no field but a state (Cross Trainer movement direction): set to 1 when the bit is. */
  marker?: Name;
}

export interface MachineLayout<Name extends string> {
  /** How this layout reads the ambiguous fields, reported when it is not the first. */
  interpretation: string;
  flagBytes: 2 | 3;
  groups: FlagGroup<Name>[];
}

export interface ReadingRule<Name extends string> {
  metric: MetricId;
  field: Name;
  convert?: (value: number) => number;
}

export interface MachineDataSpec<Name extends string> {
  name: string;
  /** The first is the FTMS 1.0 layout; the others are fallbacks for devices that disagree with it. */
  layouts: MachineLayout<Name>[];
  readings: readonly ReadingRule<Name>[];
}

export interface MachineDataFields<Name extends string> {
  flags: number;
  interpretation: string;
  values: Partial<Record<Name, number>>;
  /** How the record bent the spec, one description each; empty for a record exactly as specified. */
  quirks: string[];
}

/** The fields every machine ends its record with, in the same order, each gated by the next flag bit. */
export type SessionField = 'totalEnergyKcal' | 'energyPerHourKcal' | 'energyPerMinuteKcal' | 'heartRateBpm' | 'metabolicEquivalent' | 'elapsedTimeS' | 'remainingTimeS';

/**
 * The expended-energy triplet, heart rate, MET, elapsed and remaining time, gated by `energyBit` and the four
 * bits after it.
 */
export function sessionGroups(energyBit: number): FlagGroup<SessionField>[] {
  return [
    {
      bit: energyBit,
      fields: [
        { name: 'totalEnergyKcal', type: 'u16', unavailable: 0xffff },
        { name: 'energyPerHourKcal', type: 'u16', unavailable: 0xffff },
        { name: 'energyPerMinuteKcal', type: 'u8', unavailable: 0xff },
      ],
    },
    { bit: energyBit + 1, fields: [{ name: 'heartRateBpm', type: 'u8' }] },
    // The 2017 treadmill XML has no exponent here, but every other FTMS MET field is 0.1 and so are real treadmills.
    { bit: energyBit + 2, fields: [{ name: 'metabolicEquivalent', type: 'u8', divisor: 10 }] },
    { bit: energyBit + 3, fields: [{ name: 'elapsedTimeS', type: 'u16' }] },
    { bit: energyBit + 4, fields: [{ name: 'remainingTimeS', type: 'u16' }] },
  ];
}

/** The readings of the session fields, the same on every machine. */
export const SESSION_READINGS: readonly ReadingRule<SessionField>[] = [
  { metric: 'energy', field: 'totalEnergyKcal' },
  { metric: 'heart_rate', field: 'heartRateBpm' },
  { metric: 'elapsed_time', field: 'elapsedTimeS' },
  { metric: 'remaining_time', field: 'remainingTimeS' },
];

/** Instantaneous and average speed, km/h in steps of 0.01: treadmill, indoor bike and cross trainer. */
export type SpeedField = 'instantaneousSpeedKmh' | 'averageSpeedKmh';

/** The speed pair, gated by `bit` and the bit after it. */
export function speedGroups(bit: number): FlagGroup<SpeedField>[] {
  return [
    { bit, fields: [{ name: 'instantaneousSpeedKmh', type: 'u16', divisor: 100 }] },
    { bit: bit + 1, fields: [{ name: 'averageSpeedKmh', type: 'u16', divisor: 100 }] },
  ];
}

/** The speed reading, in m/s. */
export const SPEED_READING: ReadingRule<SpeedField> = { metric: 'speed', field: 'instantaneousSpeedKmh', convert: kmhToMetresPerSecond };

/** Inclination (%) and ramp angle (degrees), both sint16 in steps of 0.1 behind one bit: treadmill and cross trainer. */
export type InclineField = 'inclinationPercent' | 'rampAngleDeg';

export function inclineGroup(bit: number): FlagGroup<InclineField> {
  return {
    bit,
    fields: [
      { name: 'inclinationPercent', type: 's16', divisor: 10 },
      { name: 'rampAngleDeg', type: 's16', divisor: 10 },
    ],
  };
}

/**
 * The GATT Specification Supplement's reading of a bike's or rower's Resistance Level: uint8 in steps of
 * 10 instead of FTMS 1.0's sint16, as the fallback layout.
 */
export function gssResistanceLayout<Name extends string>(base: MachineLayout<Name | 'resistanceLevel'>): MachineLayout<Name | 'resistanceLevel'> {
  const overrides: Partial<Record<string, Omit<FieldSpec<string>, 'name'>>> = { resistanceLevel: { type: 'u8', multiplier: 10 } };
  return variantLayout<Name | 'resistanceLevel'>(base, 'resistance uint8 x10 (GSS)', overrides);
}

/** A copy of `base` with some fields read differently. */
export function variantLayout<Name extends string>(
  base: MachineLayout<Name>,
  interpretation: string,
  overrides: Partial<Record<Name, Omit<FieldSpec<Name>, 'name'>>>,
): MachineLayout<Name> {
  return {
    interpretation,
    flagBytes: base.flagBytes,
    groups: base.groups.map((group) => ({
      ...group,
      fields: group.fields.map((field) => {
        const override = overrides[field.name];
        return override ? { ...override, name: field.name } : field;
      }),
    })),
  };
}

function isPresent(flags: number, bit: number): boolean {
  // Bit 0 is "More Data": its field is there when the bit is clear.
  return bit === 0 ? (flags & 1) === 0 : (flags & (1 << bit)) !== 0;
}

function recordLength<Name extends string>(layout: MachineLayout<Name>, flags: number): number {
  let length = layout.flagBytes;
  for (const group of layout.groups) {
    if (!isPresent(flags, group.bit)) continue;
    for (const field of group.fields) length += FIELD_SIZE[field.type];
  }
  return length;
}

export function parseMachineData<Name extends string>(spec: MachineDataSpec<Name>, data: Uint8Array): MachineDataFields<Name> | { ok: false; reason: string } {
  const [first] = spec.layouts;
  if (first === undefined) return refused(`${spec.name} has no layout`);
  if (data.length < first.flagBytes) return refused(`${spec.name} of ${data.length} bytes is shorter than its flags`);
  const flags = readField(data, 0, first.flagBytes === 3 ? 'u24' : 'u16');
  const quirks: string[] = [];
  const definedBits = first.groups.reduce((mask, group) => mask | (1 << group.bit), 0);
  const reserved = flags & ~definedBits;
  // Reserved bits gate no field this layout knows of: the announced fields are still where the spec puts them.
  if (reserved) quirks.push(`flags ${hex(flags, first.flagBytes * 2)} set reserved bits ${hex(reserved, first.flagBytes * 2)}`);

  let layout = spec.layouts.find((candidate) => recordLength(candidate, flags) === data.length);
  if (layout === undefined) {
    layout = spec.layouts.find((candidate) => recordLength(candidate, flags) < data.length);
    if (layout === undefined) {
      return refused(`${spec.name} of ${data.length} bytes, flags ${hex(flags, first.flagBytes * 2)} need ${recordLength(first, flags)}`);
    }
    quirks.push(`${data.length - recordLength(layout, flags)} unannounced trailing bytes`);
  }

  const values: Partial<Record<Name, number>> = {};
  let offset = layout.flagBytes;
  for (const group of layout.groups) {
    if (!isPresent(flags, group.bit)) continue;
    if (group.marker !== undefined) values[group.marker] = 1;
    for (const field of group.fields) {
      const raw = readField(data, offset, field.type);
      offset += FIELD_SIZE[field.type];
      if (raw === field.unavailable) continue;
      values[field.name] = (raw * (field.multiplier ?? 1)) / (field.divisor ?? 1);
    }
  }
  return { flags, interpretation: layout.interpretation, values, quirks };
}

export function machineDataProfile<Name extends string>(spec: MachineDataSpec<Name>): BleProfile {
  return {
    name: spec.name,
    decode(data): BleDecoded {
      const parsed = parseMachineData(spec, data);
      if ('ok' in parsed) return parsed;
      const list = new MeasurementList();
      for (const rule of spec.readings) {
        const value = parsed.values[rule.field];
        if (value === undefined) continue;
        // Machines without a pulse input still send the field, as 0.
        if (rule.metric === 'heart_rate' && value === 0) continue;
        list.add(rule.metric, rule.convert ? rule.convert(value) : value);
      }
      const fallback = parsed.interpretation === spec.layouts[0]?.interpretation ? undefined : { ftmsLayout: parsed.interpretation };
      const decoded = list.result<undefined>(fallback);
      return decoded.ok && parsed.quirks.length > 0 ? { ...decoded, quirks: parsed.quirks } : decoded;
    },
  };
}
