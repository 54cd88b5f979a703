/** Importing a FIT, GPX or TCX file as one of my sessions; a refusal is said in words (too large, not a workout file, already imported, or the API's reason). */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import type { Session } from './types.ts';
import { importRefusal } from './problems.ts';
import { NoticeLine, type Notice } from './ui.tsx';

export function ImportForm(props: { onImported: (session: Session) => void }) {
  const { api, t } = useApp();
  const [file, setFile] = useState<File | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<Notice | undefined>(undefined);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (file === undefined) return;
    setBusy(true);
    setNotice(undefined);
    try {
      // The hub tells FIT, GPX and TCX apart by their content; browsers guess types for these files unevenly.
      const body = new Blob([file], { type: 'application/octet-stream' });
      const session = await api.upload<Session>('/me/sessions/import', body, { name: file.name.slice(0, 200) || undefined });
      setNotice({ text: t('meImported', { name: session.name }), error: false });
      props.onImported(session);
    } catch (err) {
      setNotice({ text: importRefusal(t, err), error: true });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="me-import" onSubmit={(e) => void submit(e)}>
      <h2>{t('meImportTitle')}</h2>
      <label for="me-import-file">{t('meImportFile')}</label>{' '}
      <input
        id="me-import-file"
        type="file"
        accept=".fit,.gpx,.tcx,application/vnd.ant.fit,application/gpx+xml,application/vnd.garmin.tcx+xml"
        onChange={(e) => setFile((e.currentTarget as HTMLInputElement).files?.[0])}
      />{' '}
      <button type="submit" disabled={file === undefined || busy}>
        {busy ? t('meImporting') : t('meImportButton')}
      </button>
      <NoticeLine notice={notice} />
    </form>
  );
}
