import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { OPERATIONS } from '../../hub/src/api/operations.ts';
import { ClassBody, ClassPatch } from '../../hub/src/api/classes-operations.ts';
import { EquipmentCreate } from '../../hub/src/api/equipment-operations.ts';
import { WebhookSubscriptionBody } from '../../hub/src/api/webhooks-operations.ts';
import { WEBHOOK_EVENTS as HUB_WEBHOOK_EVENTS } from '../../hub/src/domain/webhooks/collections.ts';
import { parseLocalDateTime, ruleProblems } from '../../hub/src/domain/classes/recurrence.ts';
import { WEEKDAYS, weeklyToRrule, type Weekday } from '../src/admin/weekly-rule.ts';
import { classFormToBody, EMPTY_CLASS_FORM, equipmentFormToBody } from '../src/admin/forms.ts';
import { EQUIPMENT_KINDS, EQUIPMENT_STATUSES, GRANTABLE_ROLES, WEBHOOK_EVENTS } from '../src/admin/vocabulary.ts';
import { EQUIPMENT_KINDS as HUB_KINDS, EQUIPMENT_STATUSES as HUB_STATUSES } from '../../hub/src/domain/equipment/collections.ts';
import { GrantableRole } from '../../hub/src/api/gyms-operations.ts';

/**
 * The admin pages are built on the public API only: every call they make with a literal path must be an operation
 * of the hub's table, with its method. Catches a mistyped path or method before a browser does.
 */
const METHOD: Record<string, string> = { get: 'get', all: 'get', blob: 'get', post: 'post', upload: 'post', put: 'put', patch: 'patch', delete: 'delete' };

function calls(): { method: string; path: string; file: string }[] {
  const dir = new URL('../src/admin/', import.meta.url);
  const found: { method: string; path: string; file: string }[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.tsx'))) {
    const source = readFileSync(new URL(file, dir), 'utf8');
    for (const match of source.matchAll(/\bapi\.(get|all|blob|post|upload|put|patch|delete)(?:<(?:[^<>]|<[^<>]*>)*>)?\(\s*(`[^`]*`|'[^']*')/g)) {
      // `${...}` segments are path parameters.
      const path = match[2]!.slice(1, -1).replace(/\$\{[^}]*\}/g, ':param');
      found.push({ method: METHOD[match[1]!]!, path, file });
    }
  }
  return found;
}

function matches(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const got = `/api/v1${path}`.split('/');
  return want.length === got.length && want.every((segment, i) => segment === got[i] || (segment.startsWith(':') && got[i] === ':param'));
}

test('every API call of the admin pages is an operation of the hub with that method', () => {
  const found = calls();
  assert.ok(found.length >= 23, `found only ${found.length} calls: the pattern no longer matches the code`);
  const operations = Object.values(OPERATIONS).map((op) => ({ method: (op as { method?: string }).method ?? 'get', path: op.path }));
  const unknown = found.filter((call) => !operations.some((op) => op.method === call.method && matches(op.path, call.path)));
  assert.deepEqual(unknown, []);
});

test("the forms' bodies are what the hub's schemas accept", () => {
  const classBody = classFormToBody({ ...EMPTY_CLASS_FORM, name: 'Spin', instructors: 'coach-1', start: '2027-03-22T07:00', days: ['MO', 'TH'], until: '2027-12-31' });
  assert.deepEqual([...Value.Errors(ClassBody, { gym: 'gym-a', ...classBody })], []);
  assert.deepEqual([...Value.Errors(ClassPatch, classBody)], []);
  const equipment = equipmentFormToBody({ type: 'bikes', name: 'Bike 1', serial: 'SN1', location: 'Row 2', attributes: '{"levels": 24}' }, 'gym-a');
  assert.deepEqual([...Value.Errors(EquipmentCreate, equipment)], []);
  assert.deepEqual([...Value.Errors(WebhookSubscriptionBody, { gym: 'gym-a', url: 'https://example.com/hook', events: [...WEBHOOK_EVENTS] })], []);
});

test("the value sets the forms offer are the hub's", () => {
  assert.deepEqual([...WEBHOOK_EVENTS], [...HUB_WEBHOOK_EVENTS]);
  assert.deepEqual([...EQUIPMENT_STATUSES], [...HUB_STATUSES]);
  assert.deepEqual([...EQUIPMENT_KINDS], [...HUB_KINDS]);
  assert.deepEqual(
    GrantableRole.anyOf.map((literal: { const: string }) => literal.const),
    [...GRANTABLE_ROLES],
  );
});

test("the weekday editor's rules are rules the hub accepts, and mean the same days", () => {
  const start = parseLocalDateTime('2027-03-22T07:00')!;
  for (const weekly of [{ days: ['MO', 'WE'] as Weekday[] }, { days: [...WEEKDAYS], until: '2027-12-31' }, { days: ['SU'] as Weekday[], until: '2027-03-28' }]) {
    const rule = weeklyToRrule(weekly)!;
    assert.deepEqual(ruleProblems(rule, start, 'rrule'), [], rule);
  }
  assert.notDeepEqual(
    ruleProblems('FREQ=WEEKLY;BYDAY=MO;UNTIL=20400101', start, 'rrule'),
    [],
    'an end past ten years is refused by the hub: the editor passes it on as the API problem',
  );
});
