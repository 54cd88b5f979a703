/** The code the screen shows until someone confirms it on a phone; a new one each time one expires. */
import { useEffect, useState } from 'preact/hooks';
import type { Translate } from '../i18n/index.ts';
import type { DeviceCode, DeviceSignIn } from './device-sign-in.ts';
import { signInLoop } from './sign-in-loop.ts';

export function SignInScreen(props: { signIn: DeviceSignIn; t: Translate; onSignedIn(): void }) {
  const { signIn, t, onSignedIn } = props;
  const [code, setCode] = useState<DeviceCode | undefined>();
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    void signInLoop(
      signIn,
      {
        onCode: (next) => {
          setFailed(false);
          setCode(next);
        },
        onFailed: () => setFailed(true),
      },
      controller.signal,
    ).then(() => {
      if (!controller.signal.aborted) onSignedIn();
    });
    return () => controller.abort();
  }, [signIn, onSignedIn]);

  return (
    <main class="board-signin">
      <h1>{t('boardSignInTitle')}</h1>
      {failed || code === undefined ? (
        <p class="board-message" role="status">
          {failed ? t('boardSignInFailed') : t('loading')}
        </p>
      ) : (
        <>
          <p class="board-signin__step">
            {t('boardSignInStep')} <strong class="board-signin__uri">{code.verificationUri}</strong> {t('boardSignInEnter')}
          </p>
          <p class="board-signin__code" aria-label={t('boardSignInCode')}>
            {code.userCode}
          </p>
          {code.verificationUriComplete !== undefined && <p class="board-signin__complete">{code.verificationUriComplete}</p>}
          <p class="board-signin__note">{t('boardSignInRenews')}</p>
        </>
      )}
    </main>
  );
}
