/**
 * The gym's equipment: each item with its status and photo thumbnails, a status change with a note, a photo
 * upload; adding an item (and, for a gym without any yet, an equipment type to add it under).
 */
import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import type { TextKey } from '../i18n/index.ts';
import { EMPTY_EQUIPMENT_FORM, EQUIPMENT_FIELDS, equipmentFormErrors, equipmentFormToBody, type EquipmentField, type EquipmentForm } from './forms.ts';
import { EQUIPMENT_KINDS, EQUIPMENT_STATUSES, type EquipmentStatus } from './vocabulary.ts';
import { apiRelative } from './paths.ts';
import { hasErrors, problemToFormErrors, type FormErrors } from './problems.ts';
import { FormError, LoadState, SelectField, TextField, useCheck, useLoad } from './ui.tsx';

type Status = EquipmentStatus;

const STATUS_TEXT: Record<Status, TextKey> = { in_service: 'adminStatusInService', out_of_order: 'adminStatusOutOfOrder', maintenance: 'adminStatusMaintenance' };

interface EquipmentType {
  id: string;
  name: string;
  kind: string;
}

interface Equipment {
  id: string;
  name: string;
  type: string;
  serial: string;
  location?: string;
  status: Status;
}

interface MaintenanceEntry {
  id: string;
  at: string;
  by: string;
  from?: string;
  to: string;
  note?: string;
}

interface Photo {
  id: string;
  variants: { name: string; width: number; height: number; url: string }[];
}

export function EquipmentPage() {
  const { api, gym, t } = useApp();
  const types = useLoad(() => api.all<EquipmentType>('/equipment-types', { gym }), [gym]);
  const items = useLoad(() => api.all<Equipment>('/equipment', { gym }), [gym]);
  const typeName = (id: string) => types.value?.find((type) => type.id === id)?.name ?? id;
  return (
    <>
      <h1>{t('adminEquipmentTitle')}</h1>
      <section aria-labelledby="equipment-list">
        <h2 id="equipment-list">{t('adminEquipmentList')}</h2>
        <LoadState loaded={items} />
        {items.value !== undefined && items.value.length === 0 ? <p>{t('adminEquipmentNone')}</p> : null}
        {items.value?.map((item) => (
          <EquipmentItem item={item} typeName={typeName(item.type)} onChanged={items.reload} />
        ))}
      </section>
      <section aria-labelledby="equipment-add">
        <h2 id="equipment-add">{t('adminEquipmentAdd')}</h2>
        <LoadState loaded={types} />
        {types.value !== undefined ? <AddEquipment types={types.value} onAdded={items.reload} /> : null}
        <AddType onAdded={types.reload} />
      </section>
    </>
  );
}

function EquipmentItem(props: { item: Equipment; typeName: string; onChanged(): void }) {
  const { api, t } = useApp();
  const { item } = props;
  const photos = useLoad(() => api.get<{ items: Photo[] }>(`/equipment/${item.id}/photos`).then((page) => page.items), [item.id]);
  const [status, setStatus] = useState<Status>(item.status);
  const [note, setNote] = useState('');
  const [errors, setErrors] = useState<FormErrors<'status' | 'note' | 'body'>>({ fields: {} });
  const [message, setMessage] = useState<string | undefined>(undefined);
  const changeStatus = async (event: Event) => {
    event.preventDefault();
    setMessage(undefined);
    try {
      await api.post(`/equipment/${item.id}/status`, { status, ...(note.trim() === '' ? {} : { note: note.trim() }) });
      setErrors({ fields: {} });
      setNote('');
      setMessage(t('adminSaved'));
      props.onChanged();
    } catch (err) {
      setErrors(problemToFormErrors(err, ['status', 'note']));
    }
  };
  const upload = async (file: File | undefined) => {
    if (file === undefined) return;
    setMessage(undefined);
    try {
      await api.upload(`/equipment/${item.id}/photos`, file);
      setErrors({ fields: {} });
      photos.reload();
    } catch (err) {
      setErrors(problemToFormErrors(err, ['body']));
    }
  };
  const prefix = `equipment-${item.id}`;
  return (
    <article aria-labelledby={prefix} style={{ borderTop: '1px solid var(--border)', paddingTop: '0.5rem' }}>
      <h3 id={prefix}>{item.name}</h3>
      <p>
        {t('adminEquipmentSummary', { type: props.typeName, serial: item.serial, location: item.location ?? '—' })} · <strong>{t(STATUS_TEXT[item.status])}</strong>
      </p>
      <LoadState loaded={photos} />
      <ul style={{ listStyle: 'none', display: 'flex', gap: '0.5rem', padding: 0, flexWrap: 'wrap' }}>
        {photos.value?.map((photo, index) => (
          <li>
            <Thumbnail photo={photo} alt={t('adminPhotoOf', { name: item.name, number: index + 1 })} />
          </li>
        ))}
      </ul>
      <form onSubmit={(e) => void changeStatus(e)} noValidate>
        <FormError message={errors.form} />
        <SelectField
          id={`${prefix}-status`}
          label={t('adminEquipmentStatus')}
          value={status}
          onChange={(value) => setStatus(value as Status)}
          options={EQUIPMENT_STATUSES.map((value) => ({ value, label: t(STATUS_TEXT[value]) }))}
          error={errors.fields.status}
        />
        <TextField id={`${prefix}-note`} label={t('adminEquipmentNote')} value={note} onInput={setNote} error={errors.fields.note} />
        <button type="submit">{t('adminEquipmentChangeStatus')}</button> <span aria-live="polite">{message ?? ''}</span>
      </form>
      <MaintenanceLog equipment={item.id} name={item.name} />
      <div style={{ marginTop: '0.5rem' }}>
        <label for={`${prefix}-photo`}>{t('adminPhotoUpload')}</label>{' '}
        <input
          id={`${prefix}-photo`}
          type="file"
          accept="image/jpeg,image/png,image/webp"
          aria-describedby={errors.fields.body !== undefined ? `${prefix}-photo-error` : undefined}
          onChange={(e) => {
            void upload(e.currentTarget.files?.[0]);
            e.currentTarget.value = '';
          }}
        />
        {errors.fields.body !== undefined ? (
          <div id={`${prefix}-photo-error`} role="alert" style={{ color: 'var(--danger)' }}>
            {errors.fields.body}
          </div>
        ) : null}
      </div>
    </article>
  );
}

function statusText(status: string, t: (key: TextKey) => string): string {
  return (EQUIPMENT_STATUSES as readonly string[]).includes(status) ? t(STATUS_TEXT[status as Status]) : status;
}

/** The item's status changes with their notes, newest first; loaded when opened. */
function MaintenanceLog(props: { equipment: string; name: string }) {
  const { t } = useApp();
  const [open, setOpen] = useState(false);
  return (
    <div>
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {t('adminMaintenanceLog')}
      </button>
      {open ? <MaintenanceEntries equipment={props.equipment} /> : null}
    </div>
  );
}

function MaintenanceEntries(props: { equipment: string }) {
  const { api, t, language } = useApp();
  const log = useLoad(() => api.get<{ items: MaintenanceEntry[] }>(`/equipment/${props.equipment}/maintenance`).then((page) => page.items), [props.equipment]);
  const when = new Intl.DateTimeFormat(language, { dateStyle: 'short', timeStyle: 'short' });
  return (
    <>
      <LoadState loaded={log} />
      <ul>
        {log.value?.map((entry) => (
          <li>
            <time dateTime={entry.at}>{when.format(new Date(entry.at))}</time>: {entry.from !== undefined ? `${statusText(entry.from, t)} → ` : ''}
            {statusText(entry.to, t)}
            {entry.note !== undefined ? ` · ${entry.note}` : ''}
          </li>
        ))}
      </ul>
    </>
  );
}

/** The photo's smallest thumbnail, fetched with the token (an <img src> could not send it) and shown from a blob. */
function Thumbnail(props: { photo: Photo; alt: string }) {
  const { api } = useApp();
  const [src, setSrc] = useState<string | undefined>(undefined);
  const variant = props.photo.variants.find((v) => v.name === 'thumb-256') ?? props.photo.variants[0];
  useEffect(() => {
    if (variant === undefined) return undefined;
    let url: string | undefined;
    let current = true;
    api.blob(apiRelative(variant.url)).then(
      (blob) => {
        if (!current) return;
        url = URL.createObjectURL(blob);
        setSrc(url);
      },
      () => undefined,
    );
    return () => {
      current = false;
      if (url !== undefined) URL.revokeObjectURL(url);
    };
  }, [variant?.url]);
  if (variant === undefined) return null;
  const scale = 128 / Math.max(variant.width, variant.height, 1);
  const width = Math.round(variant.width * scale);
  const height = Math.round(variant.height * scale);
  return src === undefined ? (
    <span style={{ display: 'inline-block', width, height, background: 'var(--surface)' }} />
  ) : (
    <img src={src} alt={props.alt} width={width} height={height} />
  );
}

function AddEquipment(props: { types: EquipmentType[]; onAdded(): void }) {
  const { api, gym, t } = useApp();
  const check = useCheck();
  const [form, setForm] = useState<EquipmentForm>({ ...EMPTY_EQUIPMENT_FORM, type: props.types[0]?.id ?? '' });
  const [errors, setErrors] = useState<FormErrors<EquipmentField>>({ fields: {} });
  const [message, setMessage] = useState<string | undefined>(undefined);
  const set = (field: keyof EquipmentForm) => (value: string) => setForm((previous) => ({ ...previous, [field]: value }));
  if (props.types.length === 0) return <p>{t('adminEquipmentNoTypes')}</p>;
  const submit = async (event: Event) => {
    event.preventDefault();
    setMessage(undefined);
    const local = equipmentFormErrors(form, check);
    setErrors(local);
    if (hasErrors(local)) return;
    try {
      await api.post('/equipment', equipmentFormToBody(form, gym));
      setForm({ ...EMPTY_EQUIPMENT_FORM, type: form.type });
      setMessage(t('adminSaved'));
      props.onAdded();
    } catch (err) {
      setErrors(problemToFormErrors(err, EQUIPMENT_FIELDS));
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <FormError message={errors.form} />
      <SelectField
        id="equipment-type"
        label={t('adminEquipmentType')}
        value={form.type}
        onChange={set('type')}
        options={props.types.map((type) => ({ value: type.id, label: type.name }))}
        error={errors.fields.type}
        required
      />
      <TextField id="equipment-name" label={t('adminEquipmentName')} value={form.name} onInput={set('name')} error={errors.fields.name} required />
      <TextField id="equipment-serial" label={t('adminEquipmentSerial')} value={form.serial} onInput={set('serial')} error={errors.fields.serial} required />
      <TextField id="equipment-location" label={t('adminEquipmentLocation')} value={form.location} onInput={set('location')} error={errors.fields.location} />
      <TextField
        id="equipment-attributes"
        label={t('adminEquipmentAttributes')}
        hint={t('adminEquipmentAttributesHint')}
        value={form.attributes}
        onInput={set('attributes')}
        error={errors.fields.attributes}
        multiline
      />
      <button type="submit">{t('adminEquipmentAddButton')}</button> <span aria-live="polite">{message ?? ''}</span>
    </form>
  );
}

/** A type with an open attributes schema: enough to add items; its schema is edited through the API. */
function AddType(props: { onAdded(): void }) {
  const { api, gym, t } = useApp();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<string>(EQUIPMENT_KINDS[0]);
  const [errors, setErrors] = useState<FormErrors<'name' | 'kind'>>({ fields: {} });
  const submit = async (event: Event) => {
    event.preventDefault();
    if (name.trim() === '') {
      setErrors({ fields: { name: t('adminCheckRequired') } });
      return;
    }
    try {
      await api.post('/equipment-types', { gym, name: name.trim(), kind, attributesSchema: { type: 'object' } });
      setErrors({ fields: {} });
      setName('');
      props.onAdded();
    } catch (err) {
      setErrors(problemToFormErrors(err, ['name', 'kind']));
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-labelledby="equipment-type-add">
      <h3 id="equipment-type-add">{t('adminTypeAdd')}</h3>
      <FormError message={errors.form} />
      <TextField id="type-name" label={t('adminTypeName')} value={name} onInput={setName} error={errors.fields.name} required />
      <SelectField
        id="type-kind"
        label={t('adminTypeKind')}
        value={kind}
        onChange={setKind}
        options={EQUIPMENT_KINDS.map((value) => ({ value, label: value }))}
        error={errors.fields.kind}
      />
      <button type="submit">{t('adminTypeAddButton')}</button>
    </form>
  );
}
