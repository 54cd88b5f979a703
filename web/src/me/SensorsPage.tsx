/** My sensors: the ones bound to me now (my own and straps lent to me) with unpair, and tap-to-pair in the current gym. */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import type { TextKey } from '../i18n/index.ts';
import { formatDateTime } from './format.ts';
import { TapToPair } from './TapToPair.tsx';
import type { Binding } from './types.ts';
import { Load, NoticeLine, problemText, useLoad, type Notice } from './ui.tsx';

const KIND_TEXT: Record<Binding['kind'], TextKey> = { own: 'meSensorOwn', loaner: 'meSensorLoaner', equipment: 'meSensorEquipment' };

export function SensorsPage() {
  const { api, t, language, me } = useApp();
  const { loaded, reload } = useLoad(() => api.get<{ items: Binding[] }>('/me/sensors').then((answer) => answer.items), []);
  const [notice, setNotice] = useState<Notice | undefined>(undefined);
  const gymName = (id: string) => me.gyms.find((g) => g.id === id)?.name ?? id;

  const unpair = async (binding: Binding) => {
    try {
      await api.delete(`/me/sensors/${encodeURIComponent(binding.id)}`);
      setNotice({ text: t('meSensorUnpaired'), error: false });
      reload();
    } catch (err) {
      setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
    }
  };

  return (
    <>
      <h1>{t('meNavSensors')}</h1>
      <NoticeLine notice={notice} />
      <Load loaded={loaded} reload={reload}>
        {(bindings) =>
          bindings.length === 0 ? (
            <p>{t('meSensorsEmpty')}</p>
          ) : (
            <table class="me-table">
              <thead>
                <tr>
                  <th scope="col">{t('meColumnSensor')}</th>
                  <th scope="col">{t('meColumnKind')}</th>
                  <th scope="col">{t('meColumnGym')}</th>
                  <th scope="col">{t('meColumnSince')}</th>
                  <th scope="col">{t('meColumnActions')}</th>
                </tr>
              </thead>
              <tbody>
                {bindings.map((binding) => (
                  <tr key={binding.id}>
                    <td>
                      {binding.label ? `${binding.label} · ` : ''}
                      <code>{binding.sensor}</code>
                    </td>
                    <td>
                      {t(KIND_TEXT[binding.kind])}
                      {binding.until ? ` (${t('meSensorUntil', { time: formatDateTime(language, binding.until) })})` : ''}
                    </td>
                    <td>{gymName(binding.gym)}</td>
                    <td>{formatDateTime(language, binding.from)}</td>
                    <td>
                      <button type="button" onClick={() => void unpair(binding)}>
                        {t('meSensorUnpair', { sensor: binding.label ?? binding.sensor })}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Load>
      <TapToPair onPaired={reload} />
    </>
  );
}
