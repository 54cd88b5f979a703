/**
 * The app's shell: signs the user in (auth/session.ts), learns who they are and their roles per gym from the
 * public API, and renders the areas' pages (me, coach, admin) under one router with the navigation their
 * roles allow in the chosen gym, a gym picker, the language and theme switches, and the not-found and
 * forbidden pages.
 */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import '../styles/app.css';
import { Api, ApiProblem } from '../lib/api.ts';
import { AppProvider, type AppState, type Me, type Role } from '../lib/context.tsx';
import type { PageRoute } from '../lib/routes.ts';
import { LANGUAGES, preferredLanguage, rememberLanguage, translator, type Language, type Translate } from '../i18n/index.ts';
import { ME_ROUTES } from '../me/routes.ts';
import { COACH_ROUTES } from '../coach/routes.ts';
import { ADMIN_ROUTES } from '../admin/routes.ts';
import { CALLBACK_PATH, WebSession } from '../auth/session.ts';
import { APP_BASE, followInAppLinks } from '../lib/navigation.ts';
import { navigation, resolve } from './router.ts';
import { THEMES, applyTheme, storedTheme, type Theme } from './theme.ts';

const ROUTES: PageRoute[] = [...ME_ROUTES, ...COACH_ROUTES, ...ADMIN_ROUTES];
const GYM_KEY = 'pulsebridge.gym';
const session = new WebSession();
const api = new Api(session.tokens);

/** The path inside /app ("/" for the home page). */
function appPath(): string {
  const rest = location.pathname.slice(APP_BASE.length);
  return rest === '' ? '/' : rest;
}

async function loadMe(): Promise<Me> {
  const [profile, gyms] = await Promise.all([
    api.get<{ email: string; displayName: string }>('/me/profile'),
    api.get<{ items: { id: string; name: string; roles?: string[] }[] }>('/gyms'),
  ]);
  return {
    id: session.subject ?? '',
    displayName: profile.displayName,
    email: profile.email,
    gyms: gyms.items.map((gym) => ({ id: gym.id, name: gym.name, roles: (gym.roles ?? []) as Role[] })),
  };
}

function Message(props: { title: string; children?: preact.ComponentChildren }) {
  return (
    <main id="main" class="message" tabIndex={-1}>
      <h1>{props.title}</h1>
      {props.children}
    </main>
  );
}

function Callback(props: { t: Translate; onDone: () => void }) {
  const [error, setError] = useState<string>();
  useEffect(() => {
    session.completeSignIn(new URL(location.href)).then(
      (returnTo) => {
        history.replaceState(null, '', returnTo);
        props.onDone();
      },
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  }, []);
  if (error === undefined) return <Message title={props.t('loading')} />;
  return (
    <Message title={props.t('errorTitle')}>
      <p>{error}</p>
      <button type="button" onClick={() => void session.signIn('/app/')}>
        {props.t('signIn')}
      </button>
    </Message>
  );
}

function Shell(props: { language: Language; setLanguage(l: Language): void; theme: Theme; setTheme(t: Theme): void }) {
  const t = useMemo(() => translator(props.language), [props.language]);
  const [path, setPath] = useState(appPath());
  const [me, setMe] = useState<Me>();
  const [error, setError] = useState<string>();
  const [gym, setGymState] = useState(localStorage.getItem(GYM_KEY) ?? '');
  const [signedIn, setSignedIn] = useState(session.signedIn);

  useEffect(() => {
    const onPop = () => setPath(appPath());
    addEventListener('popstate', onPop);
    const stopFollowing = followInAppLinks(document);
    return () => {
      removeEventListener('popstate', onPop);
      stopFollowing();
    };
  }, []);
  useEffect(() => {
    if (!signedIn) {
      if (location.pathname !== CALLBACK_PATH) void session.signIn(location.pathname + location.search);
      return;
    }
    loadMe().then(setMe, (err: unknown) => {
      if (err instanceof ApiProblem && err.status === 401) return;
      setError(err instanceof Error ? err.message : String(err));
    });
  }, [signedIn]);
  useEffect(() => {
    document.documentElement.lang = props.language;
  }, [props.language]);

  if (location.pathname === CALLBACK_PATH && !signedIn) return <Callback t={t} onDone={() => (setPath(appPath()), setSignedIn(true))} />;
  if (error !== undefined)
    return (
      <Message title={t('errorTitle')}>
        <p>{error}</p>
        <button type="button" onClick={() => location.reload()}>
          {t('retry')}
        </button>
      </Message>
    );
  if (me === undefined) return <Message title={t('loading')} />;

  const current = me.gyms.some((g) => g.id === gym) ? gym : (me.gyms[0]?.id ?? '');
  const setGym = (id: string) => {
    localStorage.setItem(GYM_KEY, id);
    setGymState(id);
  };
  const state: AppState = { api, t, language: props.language, setLanguage: props.setLanguage, me, gym: current, setGym };
  const links = navigation(ROUTES, me, current);
  const resolved = resolve(ROUTES, path, me, current);
  // The home page is the first page the navigation offers.
  const home = path === '/' && links[0] !== undefined ? resolve(ROUTES, links[0].path, me, current) : resolved;
  const title = home.kind === 'page' ? t(home.route.title) : home.kind === 'forbidden' ? t('forbidden') : path === '/' ? t('appName') : t('notFound');
  document.title = `${title} · ${t('appName')}`;

  return (
    <AppProvider value={state}>
      <a class="skip-link" href="#main">
        {t('skipToContent')}
      </a>
      <header class="top">
        <a class="brand" href={`${APP_BASE}/`}>
          {t('appName')}
        </a>
        <div class="controls">
          {me.gyms.length > 1 ? (
            <label>
              {t('gym')}{' '}
              <select value={current} onChange={(e) => setGym(e.currentTarget.value)}>
                {me.gyms.map((g) => (
                  <option value={g.id}>{g.name}</option>
                ))}
              </select>
            </label>
          ) : me.gyms[0] !== undefined ? (
            <span class="gym-name">{me.gyms[0].name}</span>
          ) : null}
          <label>
            {t('language')}{' '}
            <select value={props.language} onChange={(e) => props.setLanguage(e.currentTarget.value as Language)}>
              {LANGUAGES.map((language) => (
                <option value={language} lang={language}>
                  {language === 'en' ? 'English' : 'Русский'}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('theme')}{' '}
            <select value={props.theme} onChange={(e) => props.setTheme(e.currentTarget.value as Theme)}>
              {THEMES.map((theme) => (
                <option value={theme}>{t(theme === 'light' ? 'themeLight' : theme === 'dark' ? 'themeDark' : 'themeSystem')}</option>
              ))}
            </select>
          </label>
          <span class="user">{me.displayName}</span>
          <button type="button" onClick={() => void session.signOut()}>
            {t('signOut')}
          </button>
        </div>
      </header>
      {links.length > 0 ? (
        <nav class="side" aria-label={t('navMain')}>
          <ul>
            {links.map((route) => (
              <li>
                <a href={`${APP_BASE}${route.path}`} aria-current={resolved.kind === 'page' && resolved.route === route ? 'page' : undefined}>
                  {t(route.title)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      ) : null}
      {home.kind === 'page' ? (
        <main id="main" tabIndex={-1}>
          <home.route.component params={home.params} />
        </main>
      ) : home.kind === 'forbidden' ? (
        <Message title={t('forbidden')}>
          <p>{t('forbiddenDetail')}</p>
        </Message>
      ) : path === '/' ? (
        <Message title={t('appName')}>
          <p>{t('noPages')}</p>
        </Message>
      ) : (
        <Message title={t('notFound')}>
          <p>
            <a href={`${APP_BASE}/`}>{t('navHome')}</a>
          </p>
        </Message>
      )}
    </AppProvider>
  );
}

function App() {
  const [language, setLanguageState] = useState<Language>(preferredLanguage(localStorage, navigator.languages));
  const [theme, setThemeState] = useState<Theme>(storedTheme(localStorage));
  useEffect(() => applyTheme(theme, undefined), []);
  return (
    <Shell
      language={language}
      setLanguage={(l) => {
        rememberLanguage(localStorage, l);
        setLanguageState(l);
      }}
      theme={theme}
      setTheme={(next) => {
        applyTheme(next, localStorage);
        setThemeState(next);
      }}
    />
  );
}

render(<App />, document.getElementById('root')!);
