/** Query and response of GET /api/v1/audit. */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_AUDIT_PAGE } from '../identity/identity-store.ts';
import { GymParam } from './schemas.ts';

export const DEFAULT_AUDIT_LIMIT = 100;

export const AuditQuery = Type.Object(
  {
    gym: Type.Optional(GymParam),
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Only events whose actor is this user' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE, description: `Events per page, default ${DEFAULT_AUDIT_LIMIT}` })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditEventSchema = Type.Object({
  id: Type.String({ description: 'Increases with every event' }),
  at: Type.String({ format: 'date-time' }),
  type: Type.String({ description: 'What happened, e.g. sign_in.failed' }),
  actorUserId: Type.Optional(Type.String()),
  gym: Type.Optional(Type.String()),
  detail: Type.Record(Type.String(), Type.Unknown()),
});

export const AuditPageSchema = Type.Object({
  events: Type.Array(AuditEventSchema, { description: 'Newest first' }),
  nextCursor: Type.Optional(Type.String({ description: 'Present when older events may remain: pass it as `cursor`' })),
  next: Type.Optional(Type.String({ description: 'The next page as a ready-made URL (also in the Link header)' })),
});
export type AuditPageBody = Static<typeof AuditPageSchema>;
