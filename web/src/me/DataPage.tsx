/** My data: the whole archive as a download, and erasing the account (the email typed again confirms it; a clear warning first). */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { eraseRefusal } from './problems.ts';
import { NoticeLine, problemText, saveBlob, type Notice } from './ui.tsx';

export function DataPage() {
  const { api, t, me } = useApp();
  const [downloading, setDownloading] = useState(false);
  const [confirmation, setConfirmation] = useState('');
  const [notice, setNotice] = useState<Notice | undefined>(undefined);
  const [erased, setErased] = useState(false);

  const download = async () => {
    setDownloading(true);
    setNotice(undefined);
    try {
      saveBlob(await api.blob('/me/export'), 'pulsebridge-my-data.zip');
    } catch (err) {
      setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
    } finally {
      setDownloading(false);
    }
  };
  const typedMatches = confirmation.trim().toLowerCase() === me.email.toLowerCase();
  const erase = async (event: Event) => {
    event.preventDefault();
    if (!typedMatches) {
      setNotice({ text: t('meDeleteAccountMismatch'), error: true });
      return;
    }
    try {
      await api.delete('/me', { confirm: confirmation.trim() });
      setErased(true);
      setNotice({ text: t('meAccountDeleted'), error: false });
    } catch (err) {
      setNotice({ text: eraseRefusal(t, err), error: true });
    }
  };

  return (
    <>
      <h1>{t('meDataTitle')}</h1>
      <section aria-labelledby="me-archive-title">
        <h2 id="me-archive-title">{t('meDownloadArchive')}</h2>
        <p>{t('meDownloadHelp')}</p>
        <button type="button" onClick={() => void download()} disabled={downloading || erased}>
          {downloading ? t('meDownloading') : t('meDownloadArchive')}
        </button>
      </section>
      <section aria-labelledby="me-erase-title" class="me-danger-zone">
        <h2 id="me-erase-title">{t('meDeleteAccount')}</h2>
        <p id="me-erase-warning">
          <strong>{t('meDeleteAccountWarning')}</strong>
        </p>
        <form onSubmit={(e) => void erase(e)}>
          <label for="me-erase-confirm">{t('meDeleteAccountConfirm', { email: me.email })}</label>{' '}
          <input
            id="me-erase-confirm"
            type="email"
            autoComplete="off"
            value={confirmation}
            aria-describedby="me-erase-warning"
            onInput={(e) => setConfirmation((e.currentTarget as HTMLInputElement).value)}
            disabled={erased}
          />{' '}
          <button type="submit" class="me-danger" disabled={!typedMatches || erased}>
            {t('meDeleteAccountButton')}
          </button>
        </form>
      </section>
      <NoticeLine notice={notice} />
    </>
  );
}
