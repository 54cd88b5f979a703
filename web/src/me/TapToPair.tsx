/**
 * Tap-to-pair in the current gym: open a discovery window (the gym's agents listen for new straps), poll it
 * once a second, show the strongest new strap heard and let the athlete confirm it is theirs; the claim names
 * the window so the hub checks the strap was heard in it.
 */
import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { formatDateTime } from './format.ts';
import type { Discovery, DiscoveryWindow } from './types.ts';
import { NoticeLine, problemText, type Notice } from './ui.tsx';

const POLL_MS = 1000;

export function TapToPair(props: { onPaired: () => void }) {
  const { api, t, language, gym } = useApp();
  const [opened, setOpened] = useState<DiscoveryWindow | undefined>(undefined);
  const [discovery, setDiscovery] = useState<Discovery | undefined>(undefined);
  const [label, setLabel] = useState('');
  const [notice, setNotice] = useState<Notice | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (opened === undefined) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const answer = await api.get<Discovery>(`/me/sensors/discover/${encodeURIComponent(opened.windowId)}`);
        if (stopped) return;
        setDiscovery(answer);
        // One last look after the window closes: candidates heard until then may still be confirmed.
        if (answer.open) timer = setTimeout(() => void poll(), POLL_MS);
      } catch (err) {
        if (!stopped) setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
      }
    };
    void poll();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [opened?.windowId]);

  const start = async () => {
    setBusy(true);
    setNotice(undefined);
    setDiscovery(undefined);
    try {
      setOpened(await api.post<DiscoveryWindow>('/me/sensors/discover', { gym }));
    } catch (err) {
      setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
    } finally {
      setBusy(false);
    }
  };

  const candidate = discovery?.candidates[0];
  const confirm = async () => {
    if (opened === undefined || candidate === undefined) return;
    setBusy(true);
    try {
      const trimmed = label.trim();
      await api.post('/me/sensors', { gym: opened.gym, sensor: candidate.sensor, window: opened.windowId, ...(trimmed ? { label: trimmed.slice(0, 64) } : {}) });
      setNotice({ text: t('mePaired', { sensor: trimmed || candidate.sensor }), error: false });
      setOpened(undefined);
      setDiscovery(undefined);
      setLabel('');
      props.onPaired();
    } catch (err) {
      setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
    } finally {
      setBusy(false);
    }
  };

  const listening = opened !== undefined && (discovery === undefined || discovery.open);
  return (
    <section aria-labelledby="me-pair-title" class="me-pair">
      <h2 id="me-pair-title">{t('mePairTitle')}</h2>
      <p>{t('mePairHelp')}</p>
      <button type="button" onClick={() => void start()} disabled={busy || listening}>
        {t('mePairStart')}
      </button>
      <p role="status">
        {opened === undefined
          ? ''
          : listening
            ? `${t('mePairListening', { time: formatDateTime(language, opened.until) })} ${candidate ? '' : t('mePairNothing')}`
            : candidate
              ? ''
              : t('mePairClosed')}
      </p>
      {candidate ? (
        <div class="me-candidate">
          <p>{candidate.rssi === null ? t('mePairCandidateNoRssi', { sensor: candidate.sensor }) : t('mePairCandidate', { sensor: candidate.sensor, rssi: candidate.rssi })}</p>
          <label for="me-pair-label">{t('mePairLabel')}</label>{' '}
          <input id="me-pair-label" type="text" maxLength={64} value={label} onInput={(e) => setLabel((e.currentTarget as HTMLInputElement).value)} />{' '}
          <button type="button" onClick={() => void confirm()} disabled={busy}>
            {t('mePairConfirm')}
          </button>
        </div>
      ) : null}
      <NoticeLine notice={notice} />
    </section>
  );
}
