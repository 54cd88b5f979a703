/**
 * The class schedule editor: the gym's classes with their recurrence in words; creating, editing and deleting
 * one. Start times are local wall times in the gym's time zone (the API reads them there), recurrence is picked as
 * weekdays and stored as an RRULE; a rule the weekday editor cannot show is kept as it is.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { splitIds, CLASS_FIELDS, classFormErrors, classFormToBody, classToForm, EMPTY_CLASS_FORM, type ClassField, type ClassForm, type ClassRecord } from './forms.ts';
import { hasErrors, problemToFormErrors, type FormErrors } from './problems.ts';
import { DeleteControl, FormError, LoadState, TextField, useCheck, useDeletion, useLoad, type InputType } from './ui.tsx';
import { dateInWords, daysInWords, WEEKDAYS, weekdayName, type Weekday } from './weekly-rule.ts';

/** The rule in words, in the language: "Every Monday and Wednesday until 31 December 2027". */
function useRuleInWords(): (form: Pick<ClassForm, 'days' | 'until' | 'customRule'>) => string {
  const { t, language } = useApp();
  return (form) => {
    if (form.customRule !== undefined) return t('adminRuleCustom', { rule: form.customRule });
    if (form.days.length === 0) return t('adminRuleOnce');
    const every = t('adminRuleWeekly', { days: daysInWords(form.days, language) });
    return form.until === '' ? every : t('adminRuleUntil', { rule: every, date: dateInWords(form.until, language) });
  };
}

export function ClassesPage() {
  const { api, gym, t } = useApp();
  const classes = useLoad(() => api.all<ClassRecord>('/classes', { gym }), [gym]);
  const [editing, setEditing] = useState<ClassRecord | 'new' | undefined>(undefined);
  const deletion = useDeletion(
    (id) => api.delete(`/classes/${encodeURIComponent(id)}`),
    () => classes.reload(),
  );
  const inWords = useRuleInWords();
  return (
    <>
      <h1>{t('adminClassesTitle')}</h1>
      <section aria-labelledby="classes-list">
        <h2 id="classes-list">{t('adminClassesList')}</h2>
        <LoadState loaded={classes} />
        <FormError message={deletion.error} />
        {classes.value !== undefined && classes.value.length === 0 ? <p>{t('adminClassesNone')}</p> : null}
        {classes.value !== undefined && classes.value.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('adminClassName')}</th>
                <th scope="col">{t('adminClassRoom')}</th>
                <th scope="col">{t('adminClassStart')}</th>
                <th scope="col">{t('adminClassDuration')}</th>
                <th scope="col">{t('adminClassRecurrence')}</th>
                <th scope="col">{t('adminClassCapacity')}</th>
                <th scope="col">{t('adminActions')}</th>
              </tr>
            </thead>
            <tbody>
              {classes.value.map((cls) => (
                <tr>
                  <th scope="row">{cls.name}</th>
                  <td>{cls.room}</td>
                  <td>
                    {cls.start.replace('T', ' ')} ({cls.timeZone})
                  </td>
                  <td>{t('minutes', { count: cls.durationMinutes })}</td>
                  <td>{inWords(classToForm(cls))}</td>
                  <td>{cls.capacity}</td>
                  <td>
                    <button type="button" onClick={() => setEditing(cls)} aria-label={t('adminEditNamed', { name: cls.name })}>
                      {t('adminEdit')}
                    </button>{' '}
                    <DeleteControl id={cls.id} name={cls.name} deletion={deletion} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <p>
          <button type="button" onClick={() => setEditing('new')}>
            {t('adminClassNew')}
          </button>
        </p>
      </section>
      {editing !== undefined ? (
        <ClassEditor
          key={editing === 'new' ? 'new' : editing.id}
          record={editing === 'new' ? undefined : editing}
          onDone={() => {
            setEditing(undefined);
            classes.reload();
          }}
          onCancel={() => setEditing(undefined)}
        />
      ) : null}
    </>
  );
}

interface StaffMember {
  userId: string;
  displayName: string;
}

function ClassEditor(props: { record: ClassRecord | undefined; onDone(): void; onCancel(): void }) {
  const { api, gym, t, language } = useApp();
  const check = useCheck();
  const inWords = useRuleInWords();
  const [form, setForm] = useState<ClassForm>(props.record === undefined ? EMPTY_CLASS_FORM : classToForm(props.record));
  const [errors, setErrors] = useState<FormErrors<ClassField>>({ fields: {} });
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  // The editor opens below the list: take keyboard and screen-reader users to it.
  useEffect(() => heading.current?.focus(), []);
  const set = (field: keyof ClassForm) => (value: string) => setForm((previous) => ({ ...previous, [field]: value }));
  // Who may lead a class: the gym's coaches and admins (the API refuses anyone else). Without them, ids are typed.
  const staff = useLoad(async () => {
    const path = `/gyms/${encodeURIComponent(gym)}/members`;
    const [coaches, admins] = await Promise.all([api.all<StaffMember>(path, { role: 'coach' }), api.all<StaffMember>(path, { role: 'gym_admin' })]);
    const byId = new Map([...coaches, ...admins].map((member) => [member.userId, member]));
    return [...byId.values()].sort((a, b) => a.displayName.localeCompare(b.displayName, language));
  }, [gym]);
  const toggleInstructor = (user: string, on: boolean) =>
    setForm((previous) => {
      const ids = splitIds(previous.instructors).filter((id) => id !== user);
      return { ...previous, instructors: (on ? [...ids, user] : ids).join(', ') };
    });
  const toggleDay = (day: Weekday, on: boolean) =>
    setForm((previous) => {
      const days = on ? [...previous.days, day] : previous.days.filter((d) => d !== day);
      // Touching the weekdays hands the rule to the weekday editor.
      const { customRule: _replaced, ...rest } = previous;
      return { ...rest, days: WEEKDAYS.filter((d) => days.includes(d)) };
    });
  const submit = async (event: Event) => {
    event.preventDefault();
    const local = classFormErrors(form, check);
    // PATCH takes no null for rrule, so a recurring class cannot become a one-off in place.
    if (props.record?.rrule !== undefined && form.customRule === undefined && form.days.length === 0) local.fields.rrule = t('adminClassCannotClearRule');
    setErrors(local);
    if (hasErrors(local)) return;
    setBusy(true);
    try {
      const body = classFormToBody(form);
      if (props.record === undefined) await api.post('/classes', { gym, ...body });
      else await api.patch(`/classes/${encodeURIComponent(props.record.id)}`, body);
      props.onDone();
    } catch (err) {
      setErrors(problemToFormErrors(err, CLASS_FIELDS));
    } finally {
      setBusy(false);
    }
  };
  const field = (
    name: ClassField & keyof ClassForm,
    label: string,
    extra: { type?: InputType; min?: number; max?: number; required?: boolean; hint?: string; multiline?: boolean } = {},
  ) => <TextField id={`class-${name}`} label={label} value={form[name] as string} onInput={set(name)} error={errors.fields[name]} {...extra} />;
  return (
    <section aria-labelledby="class-editor">
      <h2 id="class-editor" ref={heading} tabIndex={-1}>
        {props.record === undefined ? t('adminClassNew') : t('adminClassEditing', { name: props.record.name })}
      </h2>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <FormError message={errors.form} />
        {field('name', t('adminClassName'), { required: true })}
        {field('description', t('adminClassDescription'), { multiline: true })}
        {field('room', t('adminClassRoom'))}
        {staff.value !== undefined && staff.value.length > 0 ? (
          <fieldset aria-describedby={errors.fields.instructors !== undefined ? 'class-instructors-error' : undefined}>
            <legend>{t('adminClassInstructors')}</legend>
            {staff.value.map((member) => (
              <label style={{ display: 'block' }}>
                <input type="checkbox" checked={splitIds(form.instructors).includes(member.userId)} onChange={(e) => toggleInstructor(member.userId, e.currentTarget.checked)} />{' '}
                {member.displayName}
              </label>
            ))}
            {errors.fields.instructors !== undefined ? (
              <div id="class-instructors-error" style={{ color: 'var(--danger)' }}>
                {errors.fields.instructors}
              </div>
            ) : null}
          </fieldset>
        ) : (
          field('instructors', t('adminClassInstructors'), { hint: t('adminClassInstructorsHint') })
        )}
        {field('capacity', t('adminClassCapacity'), { type: 'number', min: 1, max: 10_000, required: true })}
        {field('start', t('adminClassStart'), { type: 'datetime-local', required: true, hint: t('adminClassStartHint') })}
        {field('durationMinutes', t('adminClassDurationMinutes'), { type: 'number', min: 1, max: 1440, required: true })}
        <fieldset aria-describedby={errors.fields.rrule !== undefined ? 'class-rrule-error' : 'class-rule-words'}>
          <legend>{t('adminClassRecurrence')}</legend>
          {WEEKDAYS.map((day) => (
            <label style={{ marginRight: '0.75rem', whiteSpace: 'nowrap' }}>
              <input type="checkbox" checked={form.days.includes(day)} onChange={(e) => toggleDay(day, e.currentTarget.checked)} /> {weekdayName(day, language)}
            </label>
          ))}
          {form.days.length > 0 && form.customRule === undefined ? field('until', t('adminClassUntil'), { type: 'date' }) : null}
          <p id="class-rule-words" aria-live="polite">
            {inWords(form)}
          </p>
          {errors.fields.rrule !== undefined ? (
            <div id="class-rrule-error" style={{ color: 'var(--danger)' }}>
              {errors.fields.rrule}
            </div>
          ) : null}
        </fieldset>
        {field('bookingOpensDays', t('adminClassBookingOpens'), { type: 'number', min: 1, max: 365, required: true })}
        {field('cancellationWindowMinutes', t('adminClassCancellationWindow'), { type: 'number', min: 0, max: 10_080, required: true })}
        {field('waitlistLimit', t('adminClassWaitlist'), { type: 'number', min: 0, max: 1000, required: true })}
        <button type="submit" disabled={busy}>
          {t('save')}
        </button>{' '}
        <button type="button" onClick={props.onCancel}>
          {t('cancel')}
        </button>
      </form>
    </section>
  );
}
