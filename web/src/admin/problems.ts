/**
 * Errors next to the fields they are about: the API's problem+json names the offending field in `param` (the
 * top-level body field, or `body` for the whole of it), and its detail starts with "<param>: ". A form shows the
 * problem beside that field when it has one, and above the form otherwise.
 */

export interface ProblemLike {
  status?: number;
  param?: string | undefined;
  message: string;
}

export interface FormErrors<F extends string> {
  fields: Partial<Record<F, string>>;
  /** What no field of the form is about (a conflict, a refusal, a network failure). */
  form?: string;
}

export function isProblemLike(err: unknown): err is ProblemLike {
  return typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string';
}

/** The detail without its leading "<param>: ", which the field's label already says. */
export function detailWithoutParam(message: string, param: string | undefined): string {
  if (param === undefined) return message;
  const prefix = `${param}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/**
 * Maps an error to the form's fields. `aliases` maps an API field to the form field that edits it, where their
 * names differ (the class form edits `rrule` through its weekday boxes).
 */
export function problemToFormErrors<F extends string>(err: unknown, fields: readonly F[], aliases: Partial<Record<string, F>> = {}): FormErrors<F> {
  if (!isProblemLike(err)) return { fields: {}, form: String(err) };
  const param = err.param;
  const field = param === undefined ? undefined : (fields as readonly string[]).includes(param) ? (param as F) : aliases[param];
  if (field === undefined) return { fields: {}, form: err.message };
  return { fields: { [field]: detailWithoutParam(err.message, param) } as Partial<Record<F, string>> };
}

export function hasErrors<F extends string>(errors: FormErrors<F>): boolean {
  return errors.form !== undefined || Object.values(errors.fields).some((value) => value !== undefined);
}

/** The API answered 404: the thing is gone, or belongs to a gym the user is not in (the hub does not tell which). */
export function isNotFound(err: unknown): boolean {
  return isProblemLike(err) && err.status === 404;
}
