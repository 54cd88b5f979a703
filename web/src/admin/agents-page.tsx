/**
 * Edge agents of the gym with the sensors they see, refreshed every few seconds, and enrollment of a new one: the
 * hub gives a one-time code, the page shows what to type on the box, and the new agent's row turns online when the
 * box connects.
 */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import type { TextKey } from '../i18n/index.ts';
import { agentState, signalShown, type AgentState, type SignalQuality } from './agent-state.ts';
import { agentFormErrors, AGENT_FIELDS, type AgentField } from './forms.ts';
import { enrollCommand } from './paths.ts';
import { hasErrors, problemToFormErrors, type FormErrors } from './problems.ts';
import { CopyButton, errorText, FormError, LoadState, TextField, useAgo, useCheck, useLoad } from './ui.tsx';

export const AGENTS_REFRESH_MS = 5_000;
/** Batteries drain slowly and straps report them about once a minute: read them less often than the agents. */
export const BATTERY_REFRESH_MS = 60_000;
const BATTERY_LOOKBACK_MS = 15 * 60_000;

/**
 * A sensor as the agents API reports it. Battery comes from the sensor's `battery` readings where its inventory
 * lists that metric; signal from the agent's latest status, where the sensor's radio reports one (BLE).
 */
interface SensorView {
  id: string;
  kind: string;
  source: string;
  name?: string;
  metrics: string[];
  rateHz?: number;
  battery?: number;
  signalDbm?: number;
  signalAt?: string;
}

interface AgentView {
  id: string;
  gym: string;
  online: boolean;
  enrolled: boolean;
  disabled: boolean;
  lastSeen: string | null;
  version: string | null;
  outbox: { readings: number; bytes: number; oldestAgeMs: number; dropped: number } | null;
  sensors: SensorView[];
  unsyncedReadings: number;
}

interface EnrollmentIssued {
  id: string;
  gym: string;
  code: string;
  expiresAt: string;
}

const SIGNAL_TEXT: Record<SignalQuality, TextKey> = {
  strong: 'adminSensorSignalStrong',
  fair: 'adminSensorSignalFair',
  weak: 'adminSensorSignalWeak',
};

/** Read by screen readers, not shown: the words a dash stands for. */
const HIDDEN_TEXT = { position: 'absolute', width: '1px', height: '1px', overflow: 'hidden', clip: 'rect(0 0 0 0)', whiteSpace: 'nowrap' } as const;

const STATE_TEXT: Record<AgentState, TextKey> = {
  disabled: 'adminAgentDisabled',
  awaiting_enrollment: 'adminAgentAwaitingEnrollment',
  never_seen: 'adminAgentNeverSeen',
  online: 'adminAgentOnline',
  quiet: 'adminAgentQuiet',
  offline: 'adminAgentOffline',
};

function StateBadge(props: { state: AgentState }) {
  const { t } = useApp();
  const good = props.state === 'online';
  const bad = props.state === 'offline' || props.state === 'quiet' || props.state === 'disabled';
  // The word carries the state; the colour only repeats it.
  return <strong style={{ color: good ? 'var(--ok)' : bad ? 'var(--danger)' : 'var(--muted)' }}>{t(STATE_TEXT[props.state])}</strong>;
}

export function AgentsPage() {
  const { api, gym, t, language } = useApp();
  const agents = useLoad(() => api.get<AgentView[]>('/agents', { gym }), [gym], AGENTS_REFRESH_MS);
  const [issued, setIssued] = useState<EnrollmentIssued | undefined>(undefined);
  const [actionError, setActionError] = useState<string | undefined>(undefined);
  const now = Date.now();
  const ago = useAgo();
  const number = new Intl.NumberFormat(language);
  const enrolling = issued === undefined ? undefined : agents.value?.find((a) => a.id === issued.id);

  const newCode = (id: string) => {
    setActionError(undefined);
    api.post<EnrollmentIssued>(`/agents/${encodeURIComponent(id)}/enrollment`).then(setIssued, (err: unknown) => setActionError(errorText(err)));
  };

  return (
    <>
      <h1>{t('adminAgentsTitle')}</h1>
      <section aria-labelledby="agents-list">
        <h2 id="agents-list">{t('adminAgentsList')}</h2>
        <LoadState loaded={agents} />
        <FormError message={actionError} />
        {agents.value !== undefined && agents.value.length === 0 ? <p>{t('adminAgentsNone')}</p> : null}
        {agents.value?.map((agent) => {
          const state = agentState(agent, now);
          return (
            <article aria-labelledby={`agent-${agent.id}`} style={{ borderTop: '1px solid var(--border)', paddingTop: '0.5rem' }}>
              <h3 id={`agent-${agent.id}`}>
                {agent.id} · <StateBadge state={state} />
              </h3>
              <dl>
                <dt>{t('adminAgentLastSeen')}</dt>
                <dd>{agent.lastSeen === null ? t('adminNever') : <time dateTime={agent.lastSeen}>{ago(Date.parse(agent.lastSeen), now)}</time>}</dd>
                <dt>{t('adminAgentVersion')}</dt>
                <dd>{agent.version ?? '—'}</dd>
                <dt>{t('adminAgentOutbox')}</dt>
                <dd>
                  {agent.outbox === null
                    ? '—'
                    : t('adminAgentOutboxValue', {
                        readings: agent.outbox.readings,
                        kib: number.format(Math.round(agent.outbox.bytes / 1024)),
                        seconds: Math.round(agent.outbox.oldestAgeMs / 1000),
                        dropped: agent.outbox.dropped,
                      })}
                </dd>
                {agent.unsyncedReadings > 0 ? (
                  <>
                    <dt>{t('adminAgentUnsynced')}</dt>
                    <dd>{number.format(agent.unsyncedReadings)}</dd>
                  </>
                ) : null}
              </dl>
              {!agent.enrolled || state === 'never_seen' ? (
                <button type="button" onClick={() => newCode(agent.id)}>
                  {t('adminAgentNewCode')}
                </button>
              ) : null}
              <SensorsTable sensors={agent.sensors} agent={agent.id} />
            </article>
          );
        })}
      </section>
      <section aria-labelledby="agents-enroll">
        <h2 id="agents-enroll">{t('adminAgentEnrollTitle')}</h2>
        <EnrollForm
          onIssued={(fresh) => {
            setIssued(fresh);
            agents.reload();
          }}
        />
        {issued !== undefined ? <EnrollmentCode issued={issued} state={enrolling === undefined ? undefined : agentState(enrolling, now)} /> : null}
      </section>
    </>
  );
}

/** The latest battery level of each sensor that reports one, from its readings of the last minutes. */
function useBatteries(agent: string, sensors: SensorView[]): Map<string, number> {
  const { api, gym } = useApp();
  const withBattery = sensors.filter((sensor) => sensor.metrics.includes('battery')).map((sensor) => sensor.id);
  const loaded = useLoad(
    async () => {
      const levels = new Map<string, number>();
      const from = Date.now() - BATTERY_LOOKBACK_MS;
      await Promise.all(
        withBattery.map(async (sensor) => {
          const page = await api.get<{ readings: { ts: number; value: number }[] }>('/readings', { gym, agent, sensor, metric: 'battery', from });
          const last = page.readings[page.readings.length - 1];
          if (last !== undefined) levels.set(sensor, last.value);
        }),
      );
      return levels;
    },
    [gym, agent, withBattery.join(',')],
    BATTERY_REFRESH_MS,
  );
  return loaded.value ?? new Map();
}

function SensorsTable(props: { agent: string; sensors: SensorView[] }) {
  const { t } = useApp();
  const batteries = useBatteries(props.agent, props.sensors);
  if (props.sensors.length === 0) return <p>{t('adminSensorsNone')}</p>;
  return (
    <table>
      <caption>{t('adminSensorsOf', { agent: props.agent })}</caption>
      <thead>
        <tr>
          <th scope="col">{t('adminSensor')}</th>
          <th scope="col">{t('adminSensorKind')}</th>
          <th scope="col">{t('adminSensorSource')}</th>
          <th scope="col">{t('adminSensorBattery')}</th>
          <th scope="col">{t('adminSensorSignal')}</th>
          <th scope="col">{t('adminSensorMetrics')}</th>
        </tr>
      </thead>
      <tbody>
        {props.sensors.map((sensor) => (
          <tr>
            <th scope="row">{sensor.name !== undefined ? `${sensor.name} (${sensor.id})` : sensor.id}</th>
            <td>{sensor.kind}</td>
            <td>{sensor.source}</td>
            <td>{batteryOf(sensor, batteries)}</td>
            <td>
              <SignalCell sensor={sensor} />
            </td>
            <td>{sensor.metrics.join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SignalCell(props: { sensor: SensorView }) {
  const { t } = useApp();
  const ago = useAgo();
  const now = Date.now();
  const shown = signalShown(props.sensor, now);
  if (shown === undefined) {
    return (
      <>
        <span aria-hidden="true">—</span>
        <span style={HIDDEN_TEXT}>{t('adminSensorSignalNone')}</span>
      </>
    );
  }
  const value = t('adminSensorSignalValue', { dBm: shown.dBm, quality: t(SIGNAL_TEXT[shown.quality]) });
  if (shown.staleSince === undefined) return <>{value}</>;
  return (
    <>
      {value} (<time dateTime={new Date(shown.staleSince).toISOString()}>{t('adminSensorSignalAsOf', { ago: ago(shown.staleSince, now) })}</time>)
    </>
  );
}

function batteryOf(sensor: SensorView, batteries: Map<string, number>): string {
  const level = batteries.get(sensor.id) ?? sensor.battery;
  return level === undefined ? '—' : `${Math.round(level)} %`;
}

function EnrollForm(props: { onIssued(issued: EnrollmentIssued): void }) {
  const { api, gym, t } = useApp();
  const check = useCheck();
  const [id, setId] = useState('');
  const [errors, setErrors] = useState<FormErrors<AgentField>>({ fields: {} });
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const local = agentFormErrors({ id }, check);
    setErrors(local);
    if (hasErrors(local)) return;
    setBusy(true);
    try {
      props.onIssued(await api.post<EnrollmentIssued>('/agents', { id: id.trim(), gym }));
      setId('');
    } catch (err) {
      setErrors(problemToFormErrors(err, AGENT_FIELDS));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <FormError message={errors.form} />
      <TextField id="agent-id" label={t('adminAgentId')} hint={t('adminAgentIdHint')} value={id} onInput={setId} error={errors.fields.id} required />
      <button type="submit" disabled={busy}>
        {t('adminAgentCreate')}
      </button>
    </form>
  );
}

function EnrollmentCode(props: { issued: EnrollmentIssued; state: AgentState | undefined }) {
  const { t, language } = useApp();
  const command = enrollCommand(location.origin, props.issued.code);
  const expires = new Intl.DateTimeFormat(language, { timeStyle: 'short' }).format(new Date(props.issued.expiresAt));
  return (
    <div role="status" style={{ border: '1px solid var(--border)', padding: '0.75rem', marginTop: '0.75rem' }}>
      <p>{t('adminEnrollCodeFor', { agent: props.issued.id })}</p>
      <p id="enrollment-code" style={{ fontSize: '1.75rem', fontFamily: 'monospace', letterSpacing: '0.1em' }}>
        {props.issued.code}
      </p>
      <p>{t('adminEnrollExpires', { time: expires })}</p>
      <p>{t('adminEnrollOnTheBox')}</p>
      <pre style={{ whiteSpace: 'pre-wrap', background: 'var(--surface)', padding: '0.5rem' }}>
        <code>{command}</code>
      </pre>
      <CopyButton text={command} label={t('adminCopyCommand')} />
      <p id="enrollment-state" aria-live="polite">
        {props.state === 'online' ? t('adminEnrollOnline', { agent: props.issued.id }) : t('adminEnrollWaiting')}
      </p>
    </div>
  );
}
