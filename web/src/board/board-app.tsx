/** The wall screen: signs in with a code, picks the class run, shows its live board; back to the choice when it ends. */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { Api } from '../lib/api.ts';
import { boardTranslator as translator, preferredLanguage, rememberLanguage, type Language } from '../i18n/board.ts';
import type { BoardView, SortOrder } from './arrange.ts';
import { readPreferences, rememberPreferences, type BoardStorage } from './choice.ts';
import type { DeviceSignIn } from './device-sign-in.ts';
import { LiveBoard } from './live-board.tsx';
import { RunChooser, type ChosenRun } from './run-chooser.tsx';
import { SignInScreen } from './sign-in-screen.tsx';

export interface BoardAppProps {
  createSignIn(onSignedOut: () => void): DeviceSignIn;
  storage: BoardStorage | undefined;
  browserLanguages: readonly string[];
}

type Screen = { kind: 'signin' } | { kind: 'choose'; ended?: string; runEnded?: boolean; ask: boolean } | { kind: 'live'; chosen: ChosenRun };

export function BoardApp(props: BoardAppProps) {
  const { storage } = props;
  const [signIn] = useState(() => props.createSignIn(() => setScreen({ kind: 'signin' })));
  const [language, setLanguage] = useState<Language>(() => preferredLanguage(storage, props.browserLanguages));
  const t = useMemo(() => translator(language), [language]);
  useEffect(() => {
    document.documentElement.lang = language;
    document.title = t('boardTitle');
  }, [language, t]);
  const api = useMemo(() => new Api(signIn.tokens), [signIn]);
  const [preferences, setPreferences] = useState(() => readPreferences(storage));
  const [screen, setScreen] = useState<Screen>(() => (signIn.signedIn ? { kind: 'choose', ask: false } : { kind: 'signin' }));

  const remember = (changes: Parameters<typeof rememberPreferences>[1]): void => {
    rememberPreferences(storage, changes);
    setPreferences(readPreferences(storage));
  };
  const onSignedIn = useCallback(() => setScreen({ kind: 'choose', ask: false }), []);
  const current = screen.kind === 'live' ? screen.chosen.run : undefined;
  const onLeave = useCallback(
    (reason: 'ended' | 'failed' | 'chosen') => {
      if (reason !== 'chosen') rememberPreferences(storage, { run: undefined });
      setScreen(
        reason === 'chosen' ? { kind: 'choose', ask: true } : { kind: 'choose', ask: false, runEnded: reason === 'ended', ...(current === undefined ? {} : { ended: current }) },
      );
    },
    [storage, current],
  );

  const other: Language = language === 'en' ? 'ru' : 'en';
  const languageSwitch = (
    <button
      type="button"
      lang={other}
      onClick={() => {
        if (storage) rememberLanguage(storage, other);
        setLanguage(other);
      }}
    >
      {other.toUpperCase()}
    </button>
  );

  if (screen.kind === 'signin') return <SignInScreen signIn={signIn} t={t} onSignedIn={onSignedIn} />;
  if (screen.kind === 'choose') {
    return (
      <RunChooser
        api={api}
        t={t}
        language={language}
        rememberedGym={preferences.gym}
        rememberedRun={preferences.run}
        ended={screen.ended}
        runEnded={screen.runEnded === true}
        ask={screen.ask}
        onGym={(gym) => remember({ gym })}
        onChosen={(chosen) => {
          remember({ gym: chosen.gym, run: chosen.run });
          setScreen({ kind: 'live', chosen });
        }}
        onSignedOut={() => setScreen({ kind: 'signin' })}
      />
    );
  }
  return (
    <LiveBoard
      api={api}
      t={t}
      language={language}
      run={screen.chosen.run}
      className={screen.chosen.className}
      sort={preferences.sort}
      view={preferences.view}
      onSort={(sort: SortOrder) => remember({ sort })}
      onView={(view: BoardView) => remember({ view })}
      onLeave={onLeave}
      controls={languageSwitch}
    />
  );
}
