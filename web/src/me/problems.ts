/** What the API's refusals mean to the athlete, in the chosen language. Pure: tested in web/test/me-problems.test.ts. */
import { ApiProblem } from '../lib/api.ts';
import type { Translate } from '../i18n/index.ts';

function detail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why the hub refused an import (session-files-operations.ts lists its answers). */
export function importRefusal(t: Translate, error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.status === 413) return t('meImportTooLarge');
    if (error.status === 415) return t('meImportUnsupported');
    if (error.status === 409) return t('meImportDuplicate');
  }
  return t('meImportRefused', { detail: detail(error) });
}

/** Why erasing the account was refused: the email typed did not match (400 on confirm), or a gym would lose its last admin (409). */
export function eraseRefusal(t: Translate, error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.status === 409) return t('meDeleteAccountLastAdmin');
    if (error.status === 400 && error.param === 'confirm') return t('meDeleteAccountMismatch');
  }
  return `${t('errorTitle')}: ${detail(error)}`;
}
