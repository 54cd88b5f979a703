/**
 * The app's texts in English and Russian, and `t(key, params)`. A page's texts live in its area's file
 * (en/<area>.ts and ru/<area>.ts); keys are unique across areas (each area prefixes its own). How a text is chosen
 * and filled is core.ts's. Numbers and dates are formatted with Intl in the chosen language.
 */
import { COMMON as EN_COMMON } from './en/common.ts';
import { BOARD as EN_BOARD } from './en/board.ts';
import { ME as EN_ME } from './en/me.ts';
import { COACH as EN_COACH } from './en/coach.ts';
import { ADMIN as EN_ADMIN } from './en/admin.ts';
import { COMMON as RU_COMMON } from './ru/common.ts';
import { BOARD as RU_BOARD } from './ru/board.ts';
import { ME as RU_ME } from './ru/me.ts';
import { COACH as RU_COACH } from './ru/coach.ts';
import { ADMIN as RU_ADMIN } from './ru/admin.ts';
import { translate, type Language, type Params } from './core.ts';

const EN = { ...EN_COMMON, ...EN_BOARD, ...EN_ME, ...EN_COACH, ...EN_ADMIN };
const RU: Record<string, string> = { ...RU_COMMON, ...RU_BOARD, ...RU_ME, ...RU_COACH, ...RU_ADMIN };

export { LANGUAGES, preferredLanguage, rememberLanguage, type Language, type Params } from './core.ts';

/** A text key; plural keys are named by their base (`minutes` for minutes_one/minutes_other). */
export type TextKey = { [K in keyof typeof EN]: K extends `${infer B}_other` ? B : K extends `${string}_one` ? never : K }[keyof typeof EN];
export type Translate = (key: TextKey, params?: Params) => string;

const DICTIONARIES: Record<Language, Record<string, string>> = { en: EN, ru: RU };

export function translator(language: Language): Translate {
  return translate(language, DICTIONARIES[language], EN);
}
