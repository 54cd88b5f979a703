/** My bookings and waitlist places, by start, each with a cancel button (inside the class's cancellation window the hub refuses, and says why). */
import { useState } from 'preact/hooks';
import { useApp } from '../lib/context.tsx';
import { formatDateTime } from './format.ts';
import type { Booking } from './types.ts';
import { Load, NoticeLine, problemText, useLoad, type Notice } from './ui.tsx';

export function BookingsPage() {
  const { api, t, language } = useApp();
  const { loaded, reload } = useLoad(() => api.all<Booking>('/me/bookings'), []);
  const [notice, setNotice] = useState<Notice | undefined>(undefined);

  const cancel = async (booking: Booking) => {
    try {
      await api.delete(`/classes/${encodeURIComponent(booking.class)}/occurrences/${encodeURIComponent(booking.start)}/bookings/me`);
      setNotice({ text: t('meBookingCancelled'), error: false });
      reload();
    } catch (err) {
      setNotice({ text: `${t('errorTitle')}: ${problemText(err)}`, error: true });
    }
  };
  const status = (booking: Booking) =>
    booking.status === 'waitlisted'
      ? t('meBookingStatusWaitlisted', { position: booking.position ?? 0 })
      : booking.status === 'cancelled'
        ? t('meBookingStatusCancelled')
        : booking.checkedIn
          ? `${t('meBookingStatusBooked')} · ${t('meBookingCheckedIn')}`
          : t('meBookingStatusBooked');

  return (
    <>
      <h1>{t('meNavBookings')}</h1>
      <NoticeLine notice={notice} />
      <Load loaded={loaded} reload={reload}>
        {(bookings) =>
          bookings.length === 0 ? (
            <p>{t('meBookingsEmpty')}</p>
          ) : (
            <table class="me-table">
              <thead>
                <tr>
                  <th scope="col">{t('meColumnClass')}</th>
                  <th scope="col">{t('meColumnStarts')}</th>
                  <th scope="col">{t('meColumnStatus')}</th>
                  <th scope="col">{t('meColumnActions')}</th>
                </tr>
              </thead>
              <tbody>
                {bookings.map((booking) => (
                  <tr key={booking.id}>
                    <td>{booking.className}</td>
                    <td>{formatDateTime(language, booking.startsAt)}</td>
                    <td>{status(booking)}</td>
                    <td>
                      {booking.status === 'cancelled' ? null : (
                        <button type="button" onClick={() => void cancel(booking)}>
                          {t('meBookingCancel', { name: booking.className })}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Load>
    </>
  );
}
