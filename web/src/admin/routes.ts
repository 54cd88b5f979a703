/** The gym admin's pages; paths are under /app (the shell adds it). */
import type { PageRoute } from '../lib/routes.ts';
import { AgentsPage } from './agents-page.tsx';
import { ClassesPage } from './classes-page.tsx';
import { EquipmentPage } from './equipment-page.tsx';
import { MembersPage } from './members-page.tsx';
import { WebhookDeliveriesPage, WebhooksPage } from './webhooks-page.tsx';

const ADMINS = ['gym_admin'] as const;

export const ADMIN_ROUTES: PageRoute[] = [
  { path: '/admin/agents', roles: ADMINS, title: 'adminNavAgents', nav: true, component: AgentsPage },
  { path: '/admin/equipment', roles: ADMINS, title: 'adminNavEquipment', nav: true, component: EquipmentPage },
  { path: '/admin/classes', roles: ADMINS, title: 'adminNavClasses', nav: true, component: ClassesPage },
  { path: '/admin/members', roles: ADMINS, title: 'adminNavMembers', nav: true, component: MembersPage },
  { path: '/admin/webhooks', roles: ADMINS, title: 'adminNavWebhooks', nav: true, component: WebhooksPage },
  { path: '/admin/webhooks/:id', roles: ADMINS, title: 'adminDeliveriesTitle', nav: false, component: WebhookDeliveriesPage },
];
