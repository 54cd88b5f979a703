/**
 * The admin forms' values as the inputs hold them (strings), checked before sending and turned into the API's
 * bodies. The checks mirror the API's schemas (hub/src/api/*-operations.ts) so most mistakes are named at once,
 * next to the field; whatever slips through comes back as a problem with `param` (problems.ts).
 */
import type { FormErrors } from './problems.ts';
import { rruleToWeekly, weeklyToRrule, type Weekday } from './weekly-rule.ts';

/** Local checks speak in text keys; the page translates them. */
export type Check = (key: AdminCheckKey, params?: Record<string, string | number>) => string;
export type AdminCheckKey =
  | 'adminCheckRequired'
  | 'adminCheckWholeNumber'
  | 'adminCheckBetween'
  | 'adminCheckLocalTime'
  | 'adminCheckHttps'
  | 'adminCheckEvents'
  | 'adminCheckJsonObject'
  | 'adminCheckId'
  | 'adminCheckUntilAfterStart';

const ID_PATTERN = /^[A-Za-z0-9_-]+$/;
const LOCAL_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/;

function integerIn(value: string, min: number, max: number, check: Check): string | undefined {
  if (value.trim() === '') return check('adminCheckRequired');
  if (!/^-?\d+$/.test(value.trim())) return check('adminCheckWholeNumber');
  const number = Number(value);
  return number < min || number > max ? check('adminCheckBetween', { min, max }) : undefined;
}

function required(value: string, check: Check): string | undefined {
  return value.trim() === '' ? check('adminCheckRequired') : undefined;
}

function collect<F extends string>(entries: [F, string | undefined][]): FormErrors<F> {
  const fields: Partial<Record<F, string>> = {};
  for (const [field, problem] of entries) if (problem !== undefined) fields[field] = problem;
  return { fields };
}

// ----- Classes -----

export const CLASS_FIELDS = [
  'name',
  'description',
  'room',
  'instructors',
  'capacity',
  'start',
  'durationMinutes',
  'rrule',
  'until',
  'bookingOpensDays',
  'cancellationWindowMinutes',
  'waitlistLimit',
] as const;
export type ClassField = (typeof CLASS_FIELDS)[number];

export interface ClassForm {
  name: string;
  description: string;
  room: string;
  /** User ids, separated by commas or spaces. */
  instructors: string;
  capacity: string;
  /** Local wall time in the gym's zone, YYYY-MM-DDTHH:mm (what <input type="datetime-local"> holds). */
  start: string;
  durationMinutes: string;
  days: Weekday[];
  until: string;
  /** A rule the weekday editor cannot show, kept as it was; undefined when the weekday editor owns the rule. */
  customRule?: string;
  bookingOpensDays: string;
  cancellationWindowMinutes: string;
  waitlistLimit: string;
}

/** A class as the API answers it (the fields the editor uses). */
export interface ClassRecord {
  id: string;
  name: string;
  description: string;
  room: string;
  instructors: string[];
  capacity: number;
  start: string;
  durationMinutes: number;
  rrule?: string;
  bookingOpensDays: number;
  cancellationWindowMinutes: number;
  waitlistLimit: number;
  timeZone: string;
}

export const EMPTY_CLASS_FORM: ClassForm = {
  name: '',
  description: '',
  room: '',
  instructors: '',
  capacity: '20',
  start: '',
  durationMinutes: '60',
  days: [],
  until: '',
  bookingOpensDays: '14',
  cancellationWindowMinutes: '120',
  waitlistLimit: '10',
};

export function classToForm(record: ClassRecord): ClassForm {
  const weekly = rruleToWeekly(record.rrule);
  const form: ClassForm = {
    name: record.name,
    description: record.description,
    room: record.room,
    instructors: record.instructors.join(', '),
    capacity: String(record.capacity),
    start: record.start,
    durationMinutes: String(record.durationMinutes),
    days: weekly?.days ?? [],
    until: weekly?.until ?? '',
    bookingOpensDays: String(record.bookingOpensDays),
    cancellationWindowMinutes: String(record.cancellationWindowMinutes),
    waitlistLimit: String(record.waitlistLimit),
  };
  if (weekly === undefined && record.rrule !== undefined) form.customRule = record.rrule;
  return form;
}

export function splitIds(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((id) => id !== ''))];
}

export function classFormErrors(form: ClassForm, check: Check): FormErrors<ClassField> {
  const badInstructor = splitIds(form.instructors).find((id) => !ID_PATTERN.test(id));
  return collect<ClassField>([
    ['name', required(form.name, check)],
    ['instructors', badInstructor === undefined ? undefined : check('adminCheckId')],
    ['capacity', integerIn(form.capacity, 1, 10_000, check)],
    ['start', LOCAL_TIME_PATTERN.test(form.start) ? undefined : check('adminCheckLocalTime')],
    ['durationMinutes', integerIn(form.durationMinutes, 1, 1440, check)],
    ['until', form.until !== '' && form.start !== '' && form.until < form.start.slice(0, 10) ? check('adminCheckUntilAfterStart') : undefined],
    ['bookingOpensDays', integerIn(form.bookingOpensDays, 1, 365, check)],
    ['cancellationWindowMinutes', integerIn(form.cancellationWindowMinutes, 0, 10_080, check)],
    ['waitlistLimit', integerIn(form.waitlistLimit, 0, 1000, check)],
  ]);
}

/** The API body (POST /classes with the gym, PATCH /classes/:id without it); call after classFormErrors found none. */
export function classFormToBody(form: ClassForm): Record<string, unknown> {
  const rrule = form.customRule ?? weeklyToRrule({ days: form.days, until: form.until });
  return {
    name: form.name.trim(),
    description: form.description.trim(),
    room: form.room.trim(),
    instructors: splitIds(form.instructors),
    capacity: Number(form.capacity),
    start: form.start,
    durationMinutes: Number(form.durationMinutes),
    ...(rrule === undefined ? {} : { rrule }),
    bookingOpensDays: Number(form.bookingOpensDays),
    cancellationWindowMinutes: Number(form.cancellationWindowMinutes),
    waitlistLimit: Number(form.waitlistLimit),
  };
}

// ----- Equipment -----

export const EQUIPMENT_FIELDS = ['type', 'name', 'serial', 'location', 'attributes'] as const;
export type EquipmentField = (typeof EQUIPMENT_FIELDS)[number];

export interface EquipmentForm {
  type: string;
  name: string;
  serial: string;
  location: string;
  /** A JSON object, as typed. */
  attributes: string;
}

export const EMPTY_EQUIPMENT_FORM: EquipmentForm = { type: '', name: '', serial: '', location: '', attributes: '{}' };

function parseObject(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function equipmentFormErrors(form: EquipmentForm, check: Check): FormErrors<EquipmentField> {
  return collect<EquipmentField>([
    ['type', required(form.type, check)],
    ['name', required(form.name, check)],
    ['serial', required(form.serial, check)],
    ['attributes', parseObject(form.attributes) === undefined ? check('adminCheckJsonObject') : undefined],
  ]);
}

export function equipmentFormToBody(form: EquipmentForm, gym: string): Record<string, unknown> {
  return {
    gym,
    type: form.type,
    name: form.name.trim(),
    serial: form.serial.trim(),
    ...(form.location.trim() === '' ? {} : { location: form.location.trim() }),
    attributes: parseObject(form.attributes) ?? {},
  };
}

// ----- Webhooks -----

export const WEBHOOK_FIELDS = ['url', 'events'] as const;
export type WebhookField = (typeof WEBHOOK_FIELDS)[number];

export function webhookFormErrors(form: { url: string; events: readonly string[] }, check: Check): FormErrors<WebhookField> {
  let url: URL | undefined;
  try {
    url = new URL(form.url.trim());
  } catch {
    url = undefined;
  }
  return collect<WebhookField>([
    ['url', form.url.trim() === '' ? check('adminCheckRequired') : url?.protocol === 'https:' ? undefined : check('adminCheckHttps')],
    ['events', form.events.length === 0 ? check('adminCheckEvents') : undefined],
  ]);
}

// ----- Agents -----

export const AGENT_FIELDS = ['id'] as const;
export type AgentField = (typeof AGENT_FIELDS)[number];

/** The agent registry's id shape (protocol AGENT_ID_PATTERN): a letter or digit first, then letters, digits, - and _, at most 64. */
export function agentFormErrors(form: { id: string }, check: Check): FormErrors<AgentField> {
  const id = form.id.trim();
  return collect<AgentField>([['id', id === '' ? check('adminCheckRequired') : /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(id) ? undefined : check('adminCheckId')]]);
}
