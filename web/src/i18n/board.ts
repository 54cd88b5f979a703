/**
 * The class board's texts only (common and board), so the wall screen's bundle carries no other page's words.
 * Its `Translate` is the app's type: a board text key is a key of the whole app.
 */
import { COMMON as EN_COMMON } from './en/common.ts';
import { BOARD as EN_BOARD } from './en/board.ts';
import { COMMON as RU_COMMON } from './ru/common.ts';
import { BOARD as RU_BOARD } from './ru/board.ts';
import { translate, type Language } from './core.ts';
import type { Translate } from './index.ts';

export { preferredLanguage, rememberLanguage, type Language } from './core.ts';

const EN: Record<string, string> = { ...EN_COMMON, ...EN_BOARD };
const DICTIONARIES: Record<Language, Record<string, string>> = { en: EN, ru: { ...RU_COMMON, ...RU_BOARD } };

export function boardTranslator(language: Language): Translate {
  return translate(language, DICTIONARIES[language], EN);
}
