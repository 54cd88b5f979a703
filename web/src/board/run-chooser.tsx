/**
 * Picks the gym and the running class run to show: opens the remembered or only one by itself, else lists them;
 * looks again every few seconds, so a screen left on the choice opens the next class when it starts.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiProblem, type Api } from '../lib/api.ts';
import type { Language, Translate } from '../i18n/index.ts';
import { gymToOpen, runToOpen, type RunningRun } from './choice.ts';

export interface ChosenRun {
  gym: string;
  run: string;
  className: string;
}

export interface RunChooserProps {
  api: Api;
  t: Translate;
  language: Language;
  rememberedGym: string | undefined;
  rememberedRun: string | undefined;
  /** The run that just ended: never opened again by itself. */
  ended: string | undefined;
  /** That run ended (rather than the hub refusing it): say so above the choice. */
  runEnded: boolean;
  /** True when the user chose to change the class: list the runs, do not open one by itself. */
  ask: boolean;
  onChosen(choice: ChosenRun): void;
  onGym(gym: string): void;
  onSignedOut(): void;
}

interface Gym {
  id: string;
  name: string;
}

const LOOK_AGAIN_MS = 5_000;

/** Class names by id: a class's name does not change during a run worth re-reading it for. */
const classNames = new Map<string, string>();

async function nameOf(api: Api, cls: string): Promise<string> {
  let name = classNames.get(cls);
  if (name === undefined) {
    name = (await api.get<{ name: string }>(`/classes/${encodeURIComponent(cls)}`)).name;
    classNames.set(cls, name);
  }
  return name;
}

export function RunChooser(props: RunChooserProps) {
  const { api, t, onChosen, onSignedOut } = props;
  const [gyms, setGyms] = useState<Gym[] | undefined>();
  const [gym, setGym] = useState<string | undefined>();
  const [runs, setRuns] = useState<(RunningRun & { name: string })[] | undefined>();
  const [failed, setFailed] = useState(false);

  const failedWith = (error: unknown): void => {
    if (error instanceof ApiProblem && error.status === 401) onSignedOut();
    else setFailed(true);
  };

  useEffect(() => {
    api.get<{ items: Gym[] }>('/gyms').then((answer) => {
      setGyms(answer.items);
      setGym(gymToOpen(answer.items, props.rememberedGym));
    }, failedWith);
  }, [api]);

  useEffect(() => {
    if (gym === undefined) return;
    let stopped = false;
    // Asked to change the class: the list stays until the user picks, even with one run.
    const auto = !props.ask;
    const look = async (): Promise<void> => {
      try {
        const running = await api.all<RunningRun>(`/gyms/${encodeURIComponent(gym)}/class-runs`, { state: 'running' });
        const named = await Promise.all(running.map(async (run) => ({ ...run, name: await nameOf(api, run.class) })));
        if (stopped) return;
        setFailed(false);
        setRuns(named);
        const open = auto ? runToOpen(named, props.rememberedRun, props.ended) : undefined;
        if (open !== undefined) onChosen({ gym, run: open, className: named.find((run) => run.id === open)!.name });
      } catch (error) {
        if (!stopped) failedWith(error);
      }
    };
    void look();
    const timer = setInterval(() => void look(), LOOK_AGAIN_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, gym]);

  const timeFormat = new Intl.DateTimeFormat(props.language, { hour: '2-digit', minute: '2-digit' });
  return (
    <main class="board-choice">
      {props.runEnded && <p class="board-message">{t('boardEnded')}</p>}
      {failed && (
        <p class="board-message" role="status">
          {t('boardLoadFailed')}
        </p>
      )}
      {gym === undefined ? (
        <>
          <h1>{t('boardChooseGym')}</h1>
          {gyms === undefined ? (
            <p class="board-message">{t('loading')}</p>
          ) : (
            <ul class="board-choice__list">
              {gyms.map((g) => (
                <li key={g.id}>
                  <button
                    type="button"
                    onClick={() => {
                      setGym(g.id);
                      props.onGym(g.id);
                    }}
                  >
                    {g.name}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      ) : (
        <>
          <h1>{t('boardChooseRun')}</h1>
          {runs === undefined ? (
            <p class="board-message">{t('loading')}</p>
          ) : runs.length === 0 ? (
            <p class="board-message">{t('boardNoRunning')}</p>
          ) : (
            <ul class="board-choice__list">
              {runs.map((run) => (
                <li key={run.id}>
                  <button type="button" onClick={() => onChosen({ gym, run: run.id, className: run.name })}>
                    {run.name} <small>{t('boardStartedAt', { time: timeFormat.format(new Date(run.startedAt)) })}</small>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </main>
  );
}
