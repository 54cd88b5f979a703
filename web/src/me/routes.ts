/** The athlete's pages: the signed-in user's own data, so open to anyone signed in (no role). */
import type { PageRoute } from '../lib/routes.ts';
import { BookingsPage } from './BookingsPage.tsx';
import { DataPage } from './DataPage.tsx';
import { FriendsPage } from './FriendsPage.tsx';
import { ProfilePage } from './ProfilePage.tsx';
import { SensorsPage } from './SensorsPage.tsx';
import { SessionPage } from './SessionPage.tsx';
import { SessionsPage } from './SessionsPage.tsx';

export const ME_ROUTES: PageRoute[] = [
  { path: '/me/sessions', roles: [], title: 'meNavSessions', nav: true, component: SessionsPage },
  { path: '/me/sessions/:id', roles: [], title: 'meSessionTitle', nav: false, component: SessionPage },
  { path: '/me/bookings', roles: [], title: 'meNavBookings', nav: true, component: BookingsPage },
  { path: '/me/sensors', roles: [], title: 'meNavSensors', nav: true, component: SensorsPage },
  { path: '/me/friends', roles: [], title: 'meNavFriends', nav: true, component: FriendsPage },
  { path: '/me/profile', roles: [], title: 'meNavProfile', nav: true, component: ProfilePage },
  { path: '/me/data', roles: [], title: 'meNavData', nav: true, component: DataPage },
];
