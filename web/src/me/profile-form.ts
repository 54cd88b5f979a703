/**
 * The profile form's values (what the inputs hold: strings) to and from the profile the API answers and the body
 * PUT /api/v1/me/profile takes (it replaces the profile: a field left empty becomes unknown). The API checks the
 * values; its problem names the field (`param`) and the form shows the detail there. Pure: tested in
 * web/test/me-profile.test.ts.
 */
import type { Profile } from './types.ts';
import { BOARD_VISIBILITY, RESULTS_VISIBILITY, SEXES } from './types.ts';

export const NUMBER_FIELDS = ['weightKg', 'heightCm', 'maxHeartRate', 'restingHeartRate', 'ftpWatts'] as const;
type NumberField = (typeof NUMBER_FIELDS)[number];

export interface ProfileForm {
  displayName: string;
  birthDate: string;
  sex: '' | (typeof SEXES)[number];
  weightKg: string;
  heightCm: string;
  maxHeartRate: string;
  restingHeartRate: string;
  ftpWatts: string;
  resultsVisibility: (typeof RESULTS_VISIBILITY)[number];
  boardVisibility: (typeof BOARD_VISIBILITY)[number];
  boardAlias: string;
  leaderboards: boolean;
}

export type ProfileBody = Omit<Partial<Profile>, 'userId' | 'email' | 'maxHeartRateInUse' | 'updatedAt'> & Pick<Profile, 'displayName' | 'resultsVisibility' | 'boardVisibility'>;

export function formOf(profile: Profile): ProfileForm {
  const text = (value: number | undefined) => (value === undefined ? '' : String(value));
  return {
    displayName: profile.displayName,
    birthDate: profile.birthDate ?? '',
    sex: profile.sex ?? '',
    weightKg: text(profile.weightKg),
    heightCm: text(profile.heightCm),
    maxHeartRate: text(profile.maxHeartRate),
    restingHeartRate: text(profile.restingHeartRate),
    ftpWatts: text(profile.ftpWatts),
    resultsVisibility: profile.resultsVisibility,
    boardVisibility: profile.boardVisibility,
    boardAlias: profile.boardAlias ?? '',
    leaderboards: profile.leaderboards,
  };
}

/**
 * The body to PUT. Numbers are read as typed, a decimal comma accepted (Russian keyboards); one that is not a
 * number is left out of the body and reported in `invalid`, so the form names the field instead of silently
 * forgetting what was typed.
 */
export function bodyOf(form: ProfileForm): { body: ProfileBody; invalid: NumberField[] } {
  const body: ProfileBody = {
    displayName: form.displayName.trim(),
    resultsVisibility: form.resultsVisibility,
    boardVisibility: form.boardVisibility,
    leaderboards: form.leaderboards,
  };
  const invalid: NumberField[] = [];
  if (form.birthDate !== '') body.birthDate = form.birthDate;
  if (form.sex !== '') body.sex = form.sex;
  for (const field of NUMBER_FIELDS) {
    const typed = form[field].trim();
    if (typed === '') continue;
    const value = Number(typed.replace(',', '.'));
    if (Number.isFinite(value)) body[field] = value;
    else invalid.push(field);
  }
  const alias = form.boardAlias.trim();
  if (alias !== '') body.boardAlias = alias;
  return { body, invalid };
}

/** The form field a problem's `param` names, or undefined for a problem about the whole request. */
export function fieldOfProblem(param: string | undefined): keyof ProfileForm | undefined {
  if (param === undefined) return undefined;
  const name = param.replace(/^\/+/, '').split('/')[0] ?? '';
  const fields: readonly string[] = ['displayName', 'birthDate', 'sex', ...NUMBER_FIELDS, 'resultsVisibility', 'boardVisibility', 'boardAlias', 'leaderboards'];
  return fields.includes(name) ? (name as keyof ProfileForm) : undefined;
}

/** The problem's detail without its leading "param: " (the form shows it next to that field). */
export function problemDetail(param: string | undefined, detail: string): string {
  return param !== undefined && detail.startsWith(`${param}: `) ? detail.slice(param.length + 2) : detail;
}
