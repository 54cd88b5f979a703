/**
 * The API's fixed value sets the admin pages offer in their forms, copied from the hub's schemas (the web app does
 * not import hub code); web/test/admin-api-calls.test.ts fails when they drift apart.
 */
export const WEBHOOK_EVENTS = ['session.completed', 'booking.created', 'booking.cancelled', 'equipment.status_changed', 'agent.offline'] as const;
export const EQUIPMENT_STATUSES = ['in_service', 'out_of_order', 'maintenance'] as const;
export type EquipmentStatus = (typeof EQUIPMENT_STATUSES)[number];
export const EQUIPMENT_KINDS = ['bike', 'rower', 'treadmill', 'ski_erg', 'elliptical', 'stepper', 'strength', 'other'] as const;
export const GRANTABLE_ROLES = ['athlete', 'coach', 'gym_admin'] as const;
export type GrantableRole = (typeof GRANTABLE_ROLES)[number];
