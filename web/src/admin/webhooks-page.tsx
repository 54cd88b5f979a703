/**
 * Webhook subscriptions of the gym: create one (its signing secret is shown once, with a copy button), delete one,
 * and each one's delivery log with replay (WebhookDeliveriesPage).
 */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import type { Page } from '../lib/api.ts';
import type { PageProps } from '../lib/routes.ts';
import type { TextKey } from '../i18n/index.ts';
import { WEBHOOK_FIELDS, webhookFormErrors, type WebhookField } from './forms.ts';
import { WEBHOOK_EVENTS } from './vocabulary.ts';
import { deliveriesPath, WEBHOOKS_PATH } from './paths.ts';
import { hasErrors, isNotFound, problemToFormErrors, type FormErrors } from './problems.ts';
import { CopyButton, DeleteControl, errorText, FormError, LoadState, TextField, useCheck, useDeletion, useLoad } from './ui.tsx';

export const DELIVERIES_PAGE_SIZE = 25;

interface Subscription {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  createdAt: string;
}

interface Delivery {
  id: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed' | 'gave_up';
  attempts: number;
  nextAttemptAt?: string;
  lastStatus?: number;
  lastError?: string;
  createdAt: string;
}

const DELIVERY_STATUS_TEXT: Record<Delivery['status'], TextKey> = {
  pending: 'adminDeliveryPending',
  delivered: 'adminDeliveryDelivered',
  failed: 'adminDeliveryFailed',
  gave_up: 'adminDeliveryGaveUp',
};

export function WebhooksPage() {
  const { api, gym, t } = useApp();
  const subscriptions = useLoad(() => api.all<Subscription>('/webhooks', { gym }), [gym]);
  const [secret, setSecret] = useState<{ url: string; secret: string } | undefined>(undefined);
  const deletion = useDeletion(
    (id) => api.delete(`/webhooks/${encodeURIComponent(id)}`),
    () => subscriptions.reload(),
  );
  return (
    <>
      <h1>{t('adminWebhooksTitle')}</h1>
      <section aria-labelledby="webhooks-list">
        <h2 id="webhooks-list">{t('adminWebhooksList')}</h2>
        <LoadState loaded={subscriptions} />
        <FormError message={deletion.error} />
        {subscriptions.value !== undefined && subscriptions.value.length === 0 ? <p>{t('adminWebhooksNone')}</p> : null}
        {subscriptions.value !== undefined && subscriptions.value.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('adminWebhookUrl')}</th>
                <th scope="col">{t('adminWebhookEvents')}</th>
                <th scope="col">{t('adminWebhookActive')}</th>
                <th scope="col">{t('adminActions')}</th>
              </tr>
            </thead>
            <tbody>
              {subscriptions.value.map((subscription) => (
                <tr>
                  <th scope="row" style={{ wordBreak: 'break-all' }}>
                    {subscription.url}
                  </th>
                  <td>{subscription.events.join(', ')}</td>
                  <td>{subscription.active ? t('adminYes') : t('adminWebhookEnded')}</td>
                  <td>
                    <a href={deliveriesPath(subscription.id)}>{t('adminWebhookDeliveries')}</a> <DeleteControl id={subscription.id} name={subscription.url} deletion={deletion} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
      <section aria-labelledby="webhooks-create">
        <h2 id="webhooks-create">{t('adminWebhookCreate')}</h2>
        <CreateWebhook
          onCreated={(created) => {
            setSecret(created);
            subscriptions.reload();
          }}
        />
        {secret !== undefined ? (
          <div role="status" style={{ border: '1px solid var(--border)', padding: '0.75rem', marginTop: '0.75rem' }}>
            <p>{t('adminWebhookSecretOnce', { url: secret.url })}</p>
            <pre style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all', background: 'var(--surface)', padding: '0.5rem' }}>
              <code>{secret.secret}</code>
            </pre>
            <CopyButton text={secret.secret} label={t('adminCopySecret')} />{' '}
            <button type="button" onClick={() => setSecret(undefined)}>
              {t('adminWebhookSecretStored')}
            </button>
          </div>
        ) : null}
      </section>
    </>
  );
}

function CreateWebhook(props: { onCreated(created: { url: string; secret: string }): void }) {
  const { api, gym, t } = useApp();
  const check = useCheck();
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [errors, setErrors] = useState<FormErrors<WebhookField>>({ fields: {} });
  const submit = async (event: Event) => {
    event.preventDefault();
    const local = webhookFormErrors({ url, events }, check);
    setErrors(local);
    if (hasErrors(local)) return;
    try {
      const created = await api.post<Subscription & { secret: string }>('/webhooks', { gym, url: url.trim(), events });
      setUrl('');
      setEvents([]);
      props.onCreated({ url: created.url, secret: created.secret });
    } catch (err) {
      setErrors(problemToFormErrors(err, WEBHOOK_FIELDS));
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <FormError message={errors.form} />
      <TextField id="webhook-url" type="url" label={t('adminWebhookUrl')} hint={t('adminWebhookUrlHint')} value={url} onInput={setUrl} error={errors.fields.url} required />
      <fieldset aria-describedby={errors.fields.events !== undefined ? 'webhook-events-error' : undefined}>
        <legend>{t('adminWebhookEvents')}</legend>
        {WEBHOOK_EVENTS.map((name) => (
          <label style={{ display: 'block' }}>
            <input type="checkbox" checked={events.includes(name)} onChange={(e) => setEvents(e.currentTarget.checked ? [...events, name] : events.filter((n) => n !== name))} />{' '}
            {name}
          </label>
        ))}
        {errors.fields.events !== undefined ? (
          <div id="webhook-events-error" style={{ color: 'var(--danger)' }}>
            {errors.fields.events}
          </div>
        ) : null}
      </fieldset>
      <button type="submit">{t('adminWebhookCreateButton')}</button>
    </form>
  );
}

export function WebhookDeliveriesPage(props: PageProps) {
  const { api, t, language } = useApp();
  const id = props.params['id'] ?? '';
  const subscription = useLoad(() => api.get<Subscription>(`/webhooks/${encodeURIComponent(id)}`), [id]);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const deliveries = useLoad(() => api.get<Page<Delivery>>(`/webhooks/${encodeURIComponent(id)}/deliveries`, { limit: DELIVERIES_PAGE_SIZE, cursor }), [id, cursor]);
  const [actionError, setActionError] = useState<string | undefined>(undefined);
  const [replayed, setReplayed] = useState<string | undefined>(undefined);
  const when = new Intl.DateTimeFormat(language, { dateStyle: 'short', timeStyle: 'medium' });
  const replay = (delivery: string) => {
    setActionError(undefined);
    setReplayed(undefined);
    api.post<Delivery>(`/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(delivery)}/replay`).then(
      (fresh) => {
        setReplayed(t('adminDeliveryReplayed', { id: fresh.id }));
        setCursors([undefined]);
        deliveries.reload();
      },
      (err: unknown) => setActionError(errorText(err)),
    );
  };
  const back = (
    <>
      <h1>{t('adminDeliveriesTitle')}</h1>
      <p>
        <a href={WEBHOOKS_PATH}>{t('adminBackToWebhooks')}</a>
      </p>
    </>
  );
  // Removed, or another gym's (the hub does not say which): nothing of it to list, and no retry that would help.
  if (isNotFound(subscription.error)) {
    return (
      <>
        {back}
        <p role="status">{t('notFound')}</p>
      </>
    );
  }
  return (
    <>
      {back}
      <LoadState loaded={subscription} />
      {subscription.value !== undefined ? <p style={{ wordBreak: 'break-all' }}>{t('adminDeliveriesOf', { url: subscription.value.url })}</p> : null}
      <LoadState loaded={deliveries} />
      <FormError message={actionError} />
      <p aria-live="polite">{replayed ?? ''}</p>
      {deliveries.value !== undefined && deliveries.value.items.length === 0 ? <p>{t('adminDeliveriesNone')}</p> : null}
      {deliveries.value !== undefined && deliveries.value.items.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('adminDeliveryCreated')}</th>
              <th scope="col">{t('adminDeliveryEvent')}</th>
              <th scope="col">{t('adminDeliveryStatus')}</th>
              <th scope="col">{t('adminDeliveryAttempts')}</th>
              <th scope="col">{t('adminDeliveryLast')}</th>
              <th scope="col">{t('adminActions')}</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.value.items.map((delivery) => (
              <tr>
                <th scope="row">
                  <time dateTime={delivery.createdAt}>{when.format(new Date(delivery.createdAt))}</time>
                </th>
                <td>{delivery.event}</td>
                <td>
                  {t(DELIVERY_STATUS_TEXT[delivery.status])}
                  {delivery.nextAttemptAt !== undefined ? ` (${t('adminDeliveryNext', { time: when.format(new Date(delivery.nextAttemptAt)) })})` : ''}
                </td>
                <td>{delivery.attempts}</td>
                <td>
                  {[delivery.lastStatus !== undefined ? `HTTP ${delivery.lastStatus}` : undefined, delivery.lastError].filter((part) => part !== undefined).join(' · ') || '—'}
                </td>
                <td>
                  <button
                    type="button"
                    onClick={() => replay(delivery.id)}
                    aria-label={t('adminReplayNamed', { event: delivery.event, time: when.format(new Date(delivery.createdAt)) })}
                  >
                    {t('adminReplay')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <nav aria-label={t('adminPages')}>
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          {t('adminPrevious')}
        </button>{' '}
        <button type="button" disabled={deliveries.value?.nextCursor === undefined} onClick={() => setCursors([...cursors, deliveries.value?.nextCursor])}>
          {t('adminNext')}
        </button>
      </nav>
    </>
  );
}
