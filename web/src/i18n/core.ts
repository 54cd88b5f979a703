/**
 * The language machinery every bundle shares: choosing the language and `t(key, params)` over a dictionary.
 * `{name}` in a text is replaced by params.name; a key with plural forms (`minutes_one`, `minutes_other`, ...)
 * is chosen by Intl.PluralRules for params.count. The texts themselves are gathered by index.ts (the app, all
 * areas) and board.ts (the wall screen, its own texts only, so its bundle carries no other page's words).
 */
export const LANGUAGES = ['en', 'ru'] as const;
export type Language = (typeof LANGUAGES)[number];
export type Params = Record<string, string | number>;

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

/** `t` over `texts`, falling back to the English `fallback` for a text not translated; an unknown key answers itself. */
export function translate(language: Language, texts: Record<string, string>, fallback: Record<string, string>): (key: string, params?: Params) => string {
  const plural = new Intl.PluralRules(language);
  return (key, params = {}) => {
    let text: string | undefined = texts[key] ?? fallback[key];
    if (text === undefined && typeof params['count'] === 'number') {
      const form = plural.select(params['count']);
      text = texts[`${key}_${form}`] ?? texts[`${key}_other`] ?? fallback[`${key}_other`];
    }
    if (text === undefined) return key;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = params[name];
      if (value === undefined) return whole;
      return typeof value === 'number' ? new Intl.NumberFormat(language).format(value) : value;
    });
  };
}
