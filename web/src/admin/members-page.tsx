/**
 * The gym's members a page at a time, with their roles: granting and revoking athlete, coach and gym_admin. The
 * hub refuses to take the admin role from the gym's last admin; its answer is shown on that member's row.
 */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import type { Api, Page } from '../lib/api.ts';
import type { TextKey } from '../i18n/index.ts';
import { GRANTABLE_ROLES, type GrantableRole } from './vocabulary.ts';
import { problemToFormErrors, type FormErrors } from './problems.ts';
import { errorText, FormError, LoadState, SelectField, TextField, useLoad } from './ui.tsx';

export const MEMBERS_PAGE_SIZE = 25;

export const ROLE_TEXT: Record<GrantableRole, TextKey> = { athlete: 'adminRoleAthlete', coach: 'adminRoleCoach', gym_admin: 'adminRoleGymAdmin' };

interface Member {
  userId: string;
  displayName: string;
  email: string;
  roles: string[];
}

function isGrantable(role: string): role is GrantableRole {
  return (GRANTABLE_ROLES as readonly string[]).includes(role);
}

const grant = (api: Api, gym: string, user: string, role: GrantableRole) =>
  api.put<Member>(`/gyms/${encodeURIComponent(gym)}/members/${encodeURIComponent(user)}/roles/${role}`, undefined);
const revoke = (api: Api, gym: string, user: string, role: GrantableRole) =>
  api.delete<Member>(`/gyms/${encodeURIComponent(gym)}/members/${encodeURIComponent(user)}/roles/${role}`);

export function MembersPage() {
  const { api, gym, t } = useApp();
  // The cursors of the pages before the current one, so Previous can go back.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(() => api.get<Page<Member>>(`/gyms/${encodeURIComponent(gym)}/members`, { limit: MEMBERS_PAGE_SIZE, cursor }), [gym, cursor]);
  return (
    <>
      <h1>{t('adminMembersTitle')}</h1>
      <section aria-labelledby="members-list">
        <h2 id="members-list">{t('adminMembersList')}</h2>
        <LoadState loaded={page} />
        {page.value !== undefined && page.value.items.length === 0 ? <p>{t('adminMembersNone')}</p> : null}
        {page.value !== undefined && page.value.items.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('adminMemberName')}</th>
                <th scope="col">{t('adminMemberEmail')}</th>
                <th scope="col">{t('adminMemberRoles')}</th>
                <th scope="col">{t('adminMemberGrant')}</th>
              </tr>
            </thead>
            <tbody>
              {page.value.items.map((member) => (
                <MemberRow member={member} onChanged={page.reload} />
              ))}
            </tbody>
          </table>
        ) : null}
        <nav aria-label={t('adminPages')}>
          <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            {t('adminPrevious')}
          </button>{' '}
          <button type="button" disabled={page.value?.nextCursor === undefined} onClick={() => setCursors([...cursors, page.value?.nextCursor])}>
            {t('adminNext')}
          </button>
        </nav>
      </section>
      <GrantByUserId onGranted={page.reload} />
    </>
  );
}

function MemberRow(props: { member: Member; onChanged(): void }) {
  const { api, gym, t } = useApp();
  const { member } = props;
  const missing = GRANTABLE_ROLES.filter((role) => !member.roles.includes(role));
  const [chosen, setChosen] = useState<string>(missing[0] ?? '');
  // After a grant the chosen role may be held already: fall back to the first one still missing.
  const role = missing.find((r) => r === chosen) ?? missing[0] ?? '';
  const [error, setError] = useState<string | undefined>(undefined);
  const act = (work: Promise<unknown>) => {
    setError(undefined);
    work.then(props.onChanged, (err: unknown) => setError(errorText(err)));
  };
  return (
    <tr>
      <th scope="row">{member.displayName}</th>
      <td>{member.email}</td>
      <td>
        <ul style={{ listStyle: 'none', padding: 0, margin: 0 }}>
          {member.roles.map((held) => (
            <li>
              {isGrantable(held) ? t(ROLE_TEXT[held]) : held}{' '}
              {isGrantable(held) ? (
                <button
                  type="button"
                  onClick={() => act(revoke(api, gym, member.userId, held))}
                  aria-label={t('adminRevokeNamed', { role: t(ROLE_TEXT[held]), name: member.displayName })}
                >
                  {t('adminRevoke')}
                </button>
              ) : null}
            </li>
          ))}
        </ul>
        <FormError message={error} />
      </td>
      <td>
        {missing.length > 0 ? (
          <>
            <label for={`grant-${member.userId}`} class="visually-hidden" style={{ position: 'absolute', left: '-100vw' }}>
              {t('adminGrantRoleTo', { name: member.displayName })}
            </label>
            <select id={`grant-${member.userId}`} value={role} onChange={(e) => setChosen(e.currentTarget.value)}>
              {missing.map((value) => (
                <option value={value}>{t(ROLE_TEXT[value])}</option>
              ))}
            </select>{' '}
            <button type="button" onClick={() => isGrantable(role) && act(grant(api, gym, member.userId, role))}>
              {t('adminGrant')}
            </button>
          </>
        ) : null}
      </td>
    </tr>
  );
}

/** A role for an account not yet in the gym (by its user id, as the user finds it on their profile). */
function GrantByUserId(props: { onGranted(): void }) {
  const { api, gym, t } = useApp();
  const [user, setUser] = useState('');
  const [role, setRole] = useState<GrantableRole>('athlete');
  const [errors, setErrors] = useState<FormErrors<'user' | 'role'>>({ fields: {} });
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(user.trim())) {
      setErrors({ fields: { user: t('adminCheckId') } });
      return;
    }
    try {
      await grant(api, gym, user.trim(), role);
      setErrors({ fields: {} });
      setUser('');
      props.onGranted();
    } catch (err) {
      setErrors(problemToFormErrors(err, ['user', 'role']));
    }
  };
  return (
    <section aria-labelledby="members-grant">
      <h2 id="members-grant">{t('adminGrantByIdTitle')}</h2>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <FormError message={errors.form} />
        <TextField id="grant-user" label={t('adminGrantUserId')} value={user} onInput={setUser} error={errors.fields.user} required />
        <SelectField
          id="grant-role"
          label={t('adminMemberRole')}
          value={role}
          onChange={(value) => isGrantable(value) && setRole(value)}
          options={GRANTABLE_ROLES.map((value) => ({ value, label: t(ROLE_TEXT[value]) }))}
          error={errors.fields.role}
        />
        <button type="submit">{t('adminGrant')}</button>
      </form>
    </section>
  );
}
