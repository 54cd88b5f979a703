/** Friends: my friends, requests to me (accept, decline), my requests (withdraw), and sending a request. */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { formatDate } from './format.ts';
import type { Person } from './types.ts';
import { Load, NoticeLine, problemText, useLoad, type Notice } from './ui.tsx';

interface Social {
  friends: Person[];
  incoming: Person[];
  outgoing: Person[];
}

export function FriendsPage() {
  const { api, t } = useApp();
  const { loaded, reload } = useLoad(async (): Promise<Social> => {
    const [friends, incoming, outgoing] = await Promise.all([
      api.all<Person>('/me/friends'),
      api.all<Person>('/me/friends/requests/incoming'),
      api.all<Person>('/me/friends/requests/outgoing'),
    ]);
    return { friends, incoming, outgoing };
  }, []);
  const [notice, setNotice] = useState<Notice | undefined>(undefined);
  const [user, setUser] = useState('');

  const act = async (work: () => Promise<unknown>, done?: string) => {
    try {
      await work();
      setNotice(done === undefined ? undefined : { text: done, error: false });
      reload();
    } catch (err) {
      setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
    }
  };
  const path = (person: Person) => encodeURIComponent(person.userId);
  const send = async (event: Event) => {
    event.preventDefault();
    const id = user.trim();
    if (id === '') return;
    try {
      const answer = await api.post<{ status: 'pending' | 'friends' }>('/me/friends/requests', { user: id });
      setNotice({ text: answer.status === 'friends' ? t('meNowFriends') : t('meRequestSent'), error: false });
      setUser('');
      reload();
    } catch (err) {
      setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
    }
  };

  return (
    <>
      <h1>{t('meFriendsTitle')}</h1>
      <NoticeLine notice={notice} />
      <Load loaded={loaded} reload={reload}>
        {(social) => (
          <>
            <PeopleList
              id="me-friends"
              title={t('meNavFriends')}
              empty={t('meFriendsEmpty')}
              people={social.friends}
              actions={(person) => [{ label: t('meFriendRemove', { name: person.displayName }), run: () => act(() => api.delete(`/me/friends/${path(person)}`)) }]}
            />
            <PeopleList
              id="me-incoming"
              title={t('meIncoming')}
              empty={t('meIncomingEmpty')}
              people={social.incoming}
              actions={(person) => [
                { label: t('meAccept', { name: person.displayName }), run: () => act(() => api.post(`/me/friends/requests/${path(person)}/accept`), t('meNowFriends')) },
                { label: t('meDecline', { name: person.displayName }), run: () => act(() => api.post(`/me/friends/requests/${path(person)}/decline`)) },
              ]}
            />
            <PeopleList
              id="me-outgoing"
              title={t('meOutgoing')}
              empty={t('meOutgoingEmpty')}
              people={social.outgoing}
              actions={(person) => [{ label: t('meWithdraw', { name: person.displayName }), run: () => act(() => api.delete(`/me/friends/requests/${path(person)}`)) }]}
            />
          </>
        )}
      </Load>
      <form onSubmit={(e) => void send(e)} class="me-form">
        <h2>{t('meAddFriend')}</h2>
        <label for="me-friend-user">{t('meAddFriendUser')}</label>{' '}
        <input id="me-friend-user" type="text" maxLength={128} pattern="[A-Za-z0-9_-]+" value={user} onInput={(e) => setUser((e.currentTarget as HTMLInputElement).value)} />{' '}
        <button type="submit">{t('meSend')}</button>
      </form>
    </>
  );
}

function PeopleList(props: { id: string; title: string; empty: string; people: Person[]; actions: (person: Person) => { label: string; run: () => Promise<void> }[] }) {
  const { t, language } = useApp();
  return (
    <section aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`}>{props.title}</h2>
      {props.people.length === 0 ? (
        <p>{props.empty}</p>
      ) : (
        <ul class="me-people">
          {props.people.map((person) => (
            <li key={person.userId}>
              <span>
                {person.displayName} <span class="me-muted">({t('meSince', { date: formatDate(language, person.since) })})</span>
              </span>{' '}
              {props.actions(person).map((action) => (
                <button type="button" key={action.label} onClick={() => void action.run()}>
                  {action.label}
                </button>
              ))}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
