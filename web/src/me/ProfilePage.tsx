/**
 * Profile and privacy: who sees my results, how I show on class boards (name, alias, hidden), leaderboards, and
 * the facts zones and calories are computed from. One form, because PUT /me/profile replaces the whole profile;
 * a refusal is shown next to the field the API's problem names.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiProblem } from '../lib/api.ts';
import { useApp } from '../lib/context.tsx';
import type { TextKey } from '../i18n/index.ts';
import { bodyOf, fieldOfProblem, formOf, problemDetail, type ProfileForm } from './profile-form.ts';
import { BOARD_VISIBILITY, RESULTS_VISIBILITY, type Profile } from './types.ts';
import { Load, NoticeLine, problemText, useLoad, type Notice } from './ui.tsx';

const RESULTS_TEXT: Record<ProfileForm['resultsVisibility'], TextKey> = {
  only_me: 'meResultsOnlyMe',
  friends: 'meResultsFriends',
  gym: 'meResultsGym',
  everyone: 'meResultsEveryone',
};
const BOARD_TEXT: Record<ProfileForm['boardVisibility'], TextKey> = { name: 'meBoardName', alias: 'meBoardAlias', hidden: 'meBoardHidden' };
const SEX_TEXT: Record<ProfileForm['sex'], TextKey> = { '': 'meSexUnknown', female: 'meSexFemale', male: 'meSexMale', unspecified: 'meSexUnspecified' };

export function ProfilePage() {
  const { api, t } = useApp();
  const { loaded, reload } = useLoad(() => api.get<Profile>('/me/profile'), []);
  return (
    <>
      <h1>{t('meNavProfile')}</h1>
      <Load loaded={loaded} reload={reload}>
        {(profile) => <ProfileEditor profile={profile} />}
      </Load>
    </>
  );
}

type Errors = Partial<Record<keyof ProfileForm, string>>;

function ProfileEditor(props: { profile: Profile }) {
  const { api, t } = useApp();
  const [profile, setProfile] = useState(props.profile);
  const [form, setForm] = useState(() => formOf(props.profile));
  const [errors, setErrors] = useState<Errors>({});
  const [notice, setNotice] = useState<Notice | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof ProfileForm>(field: K, value: ProfileForm[K]) => setForm((before) => ({ ...before, [field]: value }));

  const save = async (event: Event) => {
    event.preventDefault();
    const { body, invalid } = bodyOf(form);
    if (invalid.length > 0) {
      setErrors(Object.fromEntries(invalid.map((field) => [field, t('meNotANumber')])));
      setNotice({ text: t('meFixErrors'), error: true });
      return;
    }
    setBusy(true);
    try {
      const saved = await api.put<Profile>('/me/profile', body);
      setProfile(saved);
      setForm(formOf(saved));
      setErrors({});
      setNotice({ text: t('meSaved'), error: false });
    } catch (err) {
      const field = err instanceof ApiProblem ? fieldOfProblem(err.param) : undefined;
      if (field !== undefined && err instanceof ApiProblem) {
        setErrors({ [field]: problemDetail(err.param, err.message) });
        setNotice({ text: t('meFixErrors'), error: true });
      } else {
        setErrors({});
        setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
      }
    } finally {
      setBusy(false);
    }
  };

  // A field's error, when it has one, describes the control and marks it invalid for screen readers.
  const described = (field: keyof ProfileForm) => (errors[field] ? { 'aria-invalid': true, 'aria-describedby': `me-profile-${field}-error` } : {});
  const text = (field: keyof ProfileForm, label: TextKey, attributes: Record<string, string | number> = {}) => (
    <Field field={field} label={t(label)} error={errors[field]}>
      <input
        id={`me-profile-${field}`}
        value={String(form[field])}
        onInput={(e) => set(field, (e.currentTarget as HTMLInputElement).value as never)}
        {...described(field)}
        {...attributes}
      />
    </Field>
  );
  const inUse = profile.maxHeartRateInUse;

  return (
    <form class="me-form" onSubmit={(e) => void save(e)} noValidate>
      <fieldset>
        <legend>{t('mePrivacy')}</legend>
        <Field field="resultsVisibility" label={t('meResultsVisibility')} error={errors.resultsVisibility}>
          <select
            id="me-profile-resultsVisibility"
            {...described('resultsVisibility')}
            value={form.resultsVisibility}
            onChange={(e) => set('resultsVisibility', (e.currentTarget as HTMLSelectElement).value as ProfileForm['resultsVisibility'])}
          >
            {RESULTS_VISIBILITY.map((v) => (
              <option key={v} value={v}>
                {t(RESULTS_TEXT[v])}
              </option>
            ))}
          </select>
        </Field>
        <Field field="boardVisibility" label={t('meBoardVisibility')} error={errors.boardVisibility}>
          <select
            id="me-profile-boardVisibility"
            {...described('boardVisibility')}
            value={form.boardVisibility}
            onChange={(e) => set('boardVisibility', (e.currentTarget as HTMLSelectElement).value as ProfileForm['boardVisibility'])}
          >
            {BOARD_VISIBILITY.map((v) => (
              <option key={v} value={v}>
                {t(BOARD_TEXT[v])}
              </option>
            ))}
          </select>
        </Field>
        {form.boardVisibility === 'alias' || errors.boardAlias ? text('boardAlias', 'meBoardAliasField', { type: 'text', maxLength: 32 }) : null}
        <p class="me-field">
          <input id="me-profile-leaderboards" type="checkbox" checked={form.leaderboards} onChange={(e) => set('leaderboards', (e.currentTarget as HTMLInputElement).checked)} />{' '}
          <label for="me-profile-leaderboards">{t('meLeaderboards')}</label>
        </p>
      </fieldset>
      <fieldset>
        <legend>{t('meFacts')}</legend>
        <p class="me-muted">{t('meFactsHelp')}</p>
        {text('displayName', 'meDisplayName', { type: 'text', maxLength: 200, autoComplete: 'name' })}
        {text('birthDate', 'meBirthDate', { type: 'date' })}
        <Field field="sex" label={t('meSex')} error={errors.sex}>
          <select id="me-profile-sex" {...described('sex')} value={form.sex} onChange={(e) => set('sex', (e.currentTarget as HTMLSelectElement).value as ProfileForm['sex'])}>
            {(['', 'female', 'male', 'unspecified'] as const).map((v) => (
              <option key={v} value={v}>
                {t(SEX_TEXT[v])}
              </option>
            ))}
          </select>
        </Field>
        {text('weightKg', 'meWeight', { type: 'text', inputMode: 'decimal' })}
        {text('heightCm', 'meHeight', { type: 'text', inputMode: 'decimal' })}
        {text('maxHeartRate', 'meMaxHeartRateField', { type: 'text', inputMode: 'numeric' })}
        {text('restingHeartRate', 'meRestingHeartRate', { type: 'text', inputMode: 'numeric' })}
        {text('ftpWatts', 'meFtp', { type: 'text', inputMode: 'numeric' })}
        <p>
          {inUse === null
            ? t('meMaxHeartRateInUseNone')
            : inUse.source === 'test'
              ? t('meMaxHeartRateInUseTest', { bpm: inUse.bpm })
              : t('meMaxHeartRateInUseFormula', { bpm: inUse.bpm, age: inUse.age })}
        </p>
      </fieldset>
      <button type="submit" disabled={busy}>
        {t('save')}
      </button>
      <NoticeLine notice={notice} />
    </form>
  );
}

function Field(props: { field: keyof ProfileForm; label: string; error: string | undefined; children: ComponentChildren }) {
  const id = `me-profile-${props.field}`;
  return (
    <p class="me-field">
      <label for={id}>{props.label}</label>
      {props.children}
      {props.error ? (
        <span id={`${id}-error`} class="me-error">
          {props.error}
        </span>
      ) : null}
    </p>
  );
}
