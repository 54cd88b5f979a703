/**
 * The app's texts in English and Russian, and `t(key, params)`. A page's texts live in its area's file
 * (en/<area>.ts and ru/<area>.ts); keys are unique across areas (each area prefixes its own). `{name}` in a
 * text is replaced by params.name; a key with plural forms (`minutes_one`, `minutes_other`, ...) is chosen by
 * Intl.PluralRules for params.count. Numbers and dates are formatted with Intl in the chosen language.
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

const EN = { ...EN_COMMON, ...EN_BOARD, ...EN_ME, ...EN_COACH, ...EN_ADMIN };
const RU: Record<string, string> = { ...RU_COMMON, ...RU_BOARD, ...RU_ME, ...RU_COACH, ...RU_ADMIN };

export const LANGUAGES = ['en', 'ru'] as const;
export type Language = (typeof LANGUAGES)[number];
/** A text key; plural keys are named by their base (`minutes` for minutes_one/minutes_other). */
export type TextKey = { [K in keyof typeof EN]: K extends `${infer B}_other` ? B : K extends `${string}_one` ? never : K }[keyof typeof EN];
export type Params = Record<string, string | number>;
export type Translate = (key: TextKey, params?: Params) => string;

const DICTIONARIES: Record<Language, Record<string, string>> = { en: EN, ru: RU };
const STORAGE_KEY = 'pulsebridge.language';

/** The language chosen before (stored), else the first of the browser's languages the app has, else English. */
export function preferredLanguage(storage: Pick<Storage, 'getItem'> | undefined, browser: readonly string[]): Language {
  const stored = storage?.getItem(STORAGE_KEY);
  if (stored === 'en' || stored === 'ru') return stored;
  for (const tag of browser) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'en' || base === 'ru') return base;
  }
  return 'en';
}

export function rememberLanguage(storage: Pick<Storage, 'setItem'>, language: Language): void {
  storage.setItem(STORAGE_KEY, language);
}

export function translator(language: Language): Translate {
  const texts = DICTIONARIES[language];
  const plural = new Intl.PluralRules(language);
  return (key, params = {}) => {
    let text: string | undefined = texts[key] ?? (EN as Record<string, string>)[key];
    if (text === undefined && typeof params['count'] === 'number') {
      const form = plural.select(params['count']);
      text = texts[`${key}_${form}`] ?? texts[`${key}_other`] ?? (EN as Record<string, string>)[`${key}_other`];
    }
    if (text === undefined) return key;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = params[name];
      if (value === undefined) return whole;
      return typeof value === 'number' ? new Intl.NumberFormat(language).format(value) : value;
    });
  };
}
