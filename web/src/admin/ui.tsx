/** The admin pages' small building blocks: loading a resource, a labelled field with its error, the form's error. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { sinceInUnits } from './agent-state.ts';
import type { Check } from './forms.ts';

export interface Loaded<T> {
  value: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/**
 * Loads `load()` when `deps` change and when reloaded; with `refreshMs`, again periodically while the page is shown.
 * A refresh keeps the previous value on screen, so a table does not flicker to "loading" every few seconds.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], refreshMs?: number): Loaded<T> {
  const [state, setState] = useState<{ value: T | undefined; error: unknown; loading: boolean }>({ value: undefined, error: undefined, loading: true });
  const [generation, setGeneration] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let current = true;
    const run = () => {
      latest.current().then(
        (value) => current && setState({ value, error: undefined, loading: false }),
        (error: unknown) => current && setState((previous) => ({ ...previous, error, loading: false })),
      );
    };
    run();
    const timer = refreshMs === undefined ? undefined : setInterval(run, refreshMs);
    return () => {
      current = false;
      if (timer !== undefined) clearInterval(timer);
    };
  }, [...deps, generation, refreshMs]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

/** The local checks' texts, in the current language. */
export function useCheck(): Check {
  const { t } = useApp();
  return (key, params) => t(key, params);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Loading, or what failed with a way to try again; nothing once loaded. */
export function LoadState(props: { loaded: Loaded<unknown> }) {
  const { t } = useApp();
  const { loaded } = props;
  if (loaded.value === undefined && loaded.loading) return <p aria-live="polite">{t('loading')}</p>;
  if (loaded.error === undefined) return null;
  return (
    <div role="alert">
      <p>
        {t('errorTitle')}: {errorText(loaded.error)}
      </p>
      <button type="button" onClick={loaded.reload}>
        {t('retry')}
      </button>
    </div>
  );
}

/** Deleting a listed item takes a second click on the item's own confirm button; a refusal is kept to show. */
export interface Deletion {
  confirming: string | undefined;
  ask(id: string | undefined): void;
  confirm(id: string): void;
  error: string | undefined;
}

export function useDeletion(remove: (id: string) => Promise<unknown>, removed: () => void): Deletion {
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const confirm = (id: string) => {
    setError(undefined);
    remove(id).then(
      () => {
        setConfirming(undefined);
        removed();
      },
      (err: unknown) => setError(errorText(err)),
    );
  };
  return { confirming, ask: setConfirming, confirm, error };
}

/** Delete, then "Delete <name>" and Cancel while that item is being confirmed. */
export function DeleteControl(props: { id: string; name: string; deletion: Deletion }) {
  const { t } = useApp();
  const { id, name, deletion } = props;
  if (deletion.confirming !== id)
    return (
      <button type="button" onClick={() => deletion.ask(id)} aria-label={t('adminDeleteNamed', { name })}>
        {t('delete')}
      </button>
    );
  return (
    <>
      <button type="button" onClick={() => deletion.confirm(id)}>
        {t('adminConfirmDelete', { name })}
      </button>{' '}
      <button type="button" onClick={() => deletion.ask(undefined)}>
        {t('cancel')}
      </button>
    </>
  );
}

export function FormError(props: { message: string | undefined }) {
  if (props.message === undefined) return null;
  return (
    <p role="alert" style={{ color: 'var(--danger)' }}>
      {props.message}
    </p>
  );
}

export type InputType = 'text' | 'number' | 'date' | 'datetime-local' | 'url';

interface FieldProps {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: string | undefined;
}

function FieldFrame(props: FieldProps & { children: ComponentChildren }) {
  return (
    <div style={{ marginBottom: '0.75rem' }}>
      <label for={props.id} style={{ display: 'block', fontWeight: 600 }}>
        {props.label}
      </label>
      {props.children}
      {props.hint !== undefined ? (
        <div id={`${props.id}-hint`} style={{ color: 'var(--muted)' }}>
          {props.hint}
        </div>
      ) : null}
      {props.error !== undefined ? (
        <div id={`${props.id}-error`} style={{ color: 'var(--danger)' }}>
          {props.error}
        </div>
      ) : null}
    </div>
  );
}

/** The ids that describe a control: its hint and its error, so a screen reader reads both. */
export function describedBy(props: FieldProps): string | undefined {
  const ids = [props.hint !== undefined ? `${props.id}-hint` : undefined, props.error !== undefined ? `${props.id}-error` : undefined].filter((id) => id !== undefined);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

export function TextField(
  props: FieldProps & { value: string; onInput(value: string): void; type?: InputType; required?: boolean; multiline?: boolean; min?: number; max?: number },
) {
  const common = {
    id: props.id,
    value: props.value,
    required: props.required,
    'aria-invalid': props.error !== undefined ? true : undefined,
    'aria-describedby': describedBy(props),
  };
  return (
    <FieldFrame {...props}>
      {props.multiline ? (
        <textarea {...common} rows={4} onInput={(e) => props.onInput(e.currentTarget.value)} />
      ) : (
        // Preact types each input type's attributes apart; a union of types needs the one cast (all take min/max or ignore them).
        <input {...common} type={(props.type ?? 'text') as 'number'} min={props.min} max={props.max} onInput={(e) => props.onInput(e.currentTarget.value)} />
      )}
    </FieldFrame>
  );
}

export function SelectField(props: FieldProps & { value: string; onChange(value: string): void; options: { value: string; label: string }[]; required?: boolean }) {
  return (
    <FieldFrame {...props}>
      <select
        id={props.id}
        value={props.value}
        required={props.required}
        aria-invalid={props.error !== undefined ? true : undefined}
        aria-describedby={describedBy(props)}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        {props.options.map((option) => (
          <option value={option.value}>{option.label}</option>
        ))}
      </select>
    </FieldFrame>
  );
}

/** Copies text to the clipboard and says so; where the clipboard is refused, the text stays selectable on the page. */
export function CopyButton(props: { text: string; label: string }) {
  const { t } = useApp();
  const [copied, setCopied] = useState<boolean | undefined>(undefined);
  return (
    <>
      <button
        type="button"
        onClick={() =>
          navigator.clipboard.writeText(props.text).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {props.label}
      </button>{' '}
      <span aria-live="polite">{copied === true ? t('adminCopied') : copied === false ? t('adminCopyFailed') : ''}</span>
    </>
  );
}

/** Relative time in the language ("3 minutes ago"). */
export function useAgo(): (thenMs: number, nowMs: number) => string {
  const { language } = useApp();
  const format = new Intl.RelativeTimeFormat(language, { numeric: 'auto' });
  return (thenMs, nowMs) => {
    const { value, unit } = sinceInUnits(thenMs, nowMs);
    return format.format(-value, unit);
  };
}
