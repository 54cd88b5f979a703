/** One of my sessions: its results, charts of its streams, its route on a map, export as a file, and delete. */
import { useState } from 'preact/hooks';
import type { PageProps } from '../lib/routes.ts';
import { useApp } from '../lib/context.tsx';
import { formatDateTime } from './format.ts';
import { ResultsView } from './ResultsView.tsx';
import { SessionCharts } from './SessionCharts.tsx';
import { KIND_TEXT } from './SessionsPage.tsx';
import type { Session } from './types.ts';
import { APP_BASE, Link, Load, NoticeLine, navigate, problemText, saveBlob, useLoad, type Notice } from './ui.tsx';

const FORMATS = ['fit', 'gpx', 'tcx'] as const;

export function SessionPage(props: PageProps) {
  const { api } = useApp();
  const id = props.params['id'] ?? '';
  const { loaded, reload } = useLoad(() => api.get<Session>(`/me/sessions/${encodeURIComponent(id)}`), [id]);
  return (
    <Load loaded={loaded} reload={reload}>
      {(session) => <SessionView session={session} />}
    </Load>
  );
}

function SessionView({ session }: { session: Session }) {
  const { api, t, language } = useApp();
  const [notice, setNotice] = useState<Notice | undefined>(undefined);
  const path = `/me/sessions/${encodeURIComponent(session.id)}`;

  const download = async (format: (typeof FORMATS)[number]) => {
    try {
      saveBlob(await api.blob(`${path}/export`, { format }), `${session.name.replace(/[^\p{L}\p{N}_-]+/gu, '-')}.${format}`);
    } catch (err) {
      setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
    }
  };
  const remove = async () => {
    if (!confirm(t('meDeleteSessionConfirm'))) return;
    try {
      await api.delete(path);
      navigate(`${APP_BASE}/me/sessions`);
    } catch (err) {
      setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
    }
  };

  return (
    <article class="me-session">
      <p>
        <Link to="/me/sessions">{t('meBackToSessions')}</Link>
      </p>
      <h1>{session.name}</h1>
      <p class="me-muted">
        {formatDateTime(language, session.startedAt)} · {t(KIND_TEXT[session.kind])}
        {session.state === 'live' ? ` · ${t('meLive')}` : ''}
      </p>
      {session.recomputing ? <p role="status">{t('meRecomputing')}</p> : null}
      {session.results ? <ResultsView session={session} results={session.results} /> : <p>{t('meNoResults')}</p>}
      <SessionCharts session={session} />
      <section aria-labelledby="me-export-title">
        <h2 id="me-export-title">{t('meExport')}</h2>
        <div class="me-actions">
          {FORMATS.map((format) => (
            <button type="button" key={format} onClick={() => void download(format)}>
              {t('meExportAs', { format: format.toUpperCase() })}
            </button>
          ))}
          {session.state === 'completed' ? (
            <button type="button" class="me-danger" onClick={() => void remove()}>
              {t('meDeleteSession')}
            </button>
          ) : null}
        </div>
        <NoticeLine notice={notice} />
      </section>
    </article>
  );
}
