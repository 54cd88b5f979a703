/**
 * What a translation must hold: every key of the English texts, with plural keys (`x_one`, `x_other`) free to
 * add the forms the language needs (`x_few`, `x_many`: Russian has four). Checked by the type system, so a
 * missing text fails the typecheck, not a user.
 */
type PluralBase<K> = K extends `${infer B}_other` ? B : never;
type PluralForms = 'zero' | 'one' | 'two' | 'few' | 'many' | 'other';

export type Texts<EN extends Record<string, string>> = { [K in keyof EN]: string } & Partial<Record<`${PluralBase<keyof EN & string>}_${PluralForms}`, string>>;
