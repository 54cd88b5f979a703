/** Paths the admin pages build: links between them under the shell's base, and API paths from URLs the API gives. */

import { APP_BASE } from '../lib/navigation.ts';

export function deliveriesPath(subscription: string): string {
  return `${APP_BASE}/admin/webhooks/${encodeURIComponent(subscription)}`;
}

export const WEBHOOKS_PATH = `${APP_BASE}/admin/webhooks`;

/** The API answers with absolute paths (/api/v1/...), the client adds /api/v1 itself; anything else is kept. */
export function apiRelative(url: string): string {
  return url.startsWith('/api/v1/') ? url.slice('/api/v1'.length) : url;
}

/** The command an operator types on the edge box to redeem an enrollment code at this hub. */
export function enrollCommand(hubOrigin: string, code: string): string {
  return `pulsebridge-agent enroll --hub ${hubOrigin} --code ${code}`;
}
