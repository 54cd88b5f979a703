/** My sessions: newest first, a page at a time (cursor pages), each linking to its results; and importing a workout file. */
import { useEffect, useState } from 'preact/hooks';
import type { Page } from '../lib/api.ts';
import { useApp } from '../lib/context.tsx';
import type { TextKey } from '../i18n/index.ts';
import { formatDateTime, formatDuration } from './format.ts';
import { ImportForm } from './ImportForm.tsx';
import { keyFigures } from './results.ts';
import type { Session, SessionKind } from './types.ts';
import { Link, problemText } from './ui.tsx';

export const KIND_TEXT: Record<SessionKind, TextKey> = { class: 'meKindClass', personal: 'meKindPersonal', imported: 'meKindImported' };
const PAGE_SIZE = 20;

export function SessionsPage() {
  const { api, t, language } = useApp();
  const [sessions, setSessions] = useState<Session[] | undefined>(undefined);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const more = async (after: string | undefined, replace: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const page = await api.get<Page<Session>>('/me/sessions', { limit: PAGE_SIZE, ...(after ? { cursor: after } : {}) });
      setSessions((before) => (replace || before === undefined ? page.items : [...before, ...page.items]));
      setCursor(page.nextCursor);
    } catch (err) {
      setError(problemText(err));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void more(undefined, true);
    // The first page once; later pages and reloads come from the buttons and the import.
  }, []);

  return (
    <>
      <h1>{t('meNavSessions')}</h1>
      <ImportForm onImported={() => void more(undefined, true)} />
      {sessions === undefined && error === undefined ? <p role="status">{t('loading')}</p> : null}
      {sessions !== undefined && sessions.length === 0 ? <p>{t('meNoSessions')}</p> : null}
      {sessions !== undefined && sessions.length > 0 ? (
        <table class="me-table">
          <caption>{t('meSessionsTable')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('meColumnDate')}</th>
              <th scope="col">{t('meColumnKind')}</th>
              <th scope="col">{t('meColumnName')}</th>
              <th scope="col">{t('meColumnDuration')}</th>
              <th scope="col">{t('meColumnFigures')}</th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((session) => (
              <tr key={session.id}>
                <td>
                  <Link to={`/me/sessions/${encodeURIComponent(session.id)}`}>{formatDateTime(language, session.startedAt)}</Link>
                </td>
                <td>{t(KIND_TEXT[session.kind])}</td>
                <td>{session.name}</td>
                <td>{session.state === 'live' ? t('meLive') : formatDuration(session.results?.durationS ?? 0)}</td>
                <td>{keyFigures(t, language, session.results).join(' · ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {error !== undefined ? (
        <div role="alert">
          <p>{`${t('errorTitle')}: ${error}`}</p>
          <button type="button" onClick={() => void more(cursor, sessions === undefined)}>
            {t('retry')}
          </button>
        </div>
      ) : null}
      {cursor !== undefined ? (
        <button type="button" onClick={() => void more(cursor, false)} disabled={busy}>
          {busy ? t('loading') : t('meMore')}
        </button>
      ) : null}
    </>
  );
}
