import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiProblem } from '../src/lib/api.ts';
import {
  agentFormErrors,
  CLASS_FIELDS,
  classFormErrors,
  classFormToBody,
  classToForm,
  EMPTY_CLASS_FORM,
  equipmentFormErrors,
  equipmentFormToBody,
  webhookFormErrors,
  type ClassRecord,
} from '../src/admin/forms.ts';
import { apiRelative, deliveriesPath, enrollCommand } from '../src/admin/paths.ts';
import { detailWithoutParam, hasErrors, isNotFound, problemToFormErrors } from '../src/admin/problems.ts';

/** Names the key and its parameters, so a test sees which check spoke. */
const check = (key: string, params?: Record<string, string | number>) => (params ? `${key}(${Object.values(params).join(',')})` : key);

test("a problem with a param the form has goes next to that field, without the param's prefix", () => {
  const problem = new ApiProblem(400, { detail: 'capacity: must be at most 10000', param: 'capacity' });
  assert.deepEqual(problemToFormErrors(problem, CLASS_FIELDS), { fields: { capacity: 'must be at most 10000' } });
});

test('a param the form edits under another name goes to that field', () => {
  const problem = new ApiProblem(400, { detail: 'FREQ must be WEEKLY', param: 'gymRule' });
  assert.deepEqual(problemToFormErrors(problem, ['name', 'rrule'] as const, { gymRule: 'rrule' }), { fields: { rrule: 'FREQ must be WEEKLY' } });
});

test('a problem about no field of the form (a conflict, the last admin) is shown for the whole form', () => {
  const lastAdmin = new ApiProblem(409, { detail: 'this is the gym’s last admin: give the role to someone else first', code: 'conflict' });
  assert.deepEqual(problemToFormErrors(lastAdmin, CLASS_FIELDS), { fields: {}, form: 'this is the gym’s last admin: give the role to someone else first' });
  assert.deepEqual(problemToFormErrors(new ApiProblem(400, { detail: 'body: is not valid JSON', param: 'body' }), CLASS_FIELDS).form, 'body: is not valid JSON');
  assert.deepEqual(problemToFormErrors(new TypeError('Failed to fetch'), CLASS_FIELDS), { fields: {}, form: 'Failed to fetch' });
  assert.deepEqual(problemToFormErrors('weird', CLASS_FIELDS), { fields: {}, form: 'weird' });
});

test('a 404 from the API is "not found" (another gym’s or a removed thing); other failures are not', () => {
  assert.equal(isNotFound(new ApiProblem(404, { detail: 'no webhook with id w1' })), true);
  assert.equal(isNotFound(new ApiProblem(403, { detail: 'forbidden' })), false);
  assert.equal(isNotFound(new ApiProblem(500, { detail: 'boom' })), false);
  assert.equal(isNotFound(new TypeError('Failed to fetch')), false);
  assert.equal(isNotFound(undefined), false);
});

test('the detail keeps its text when it does not start with the param', () => {
  assert.equal(detailWithoutParam('no such thing', 'type'), 'no such thing');
  assert.equal(detailWithoutParam('type: no equipment type x', undefined), 'type: no equipment type x');
});

const validClass = { ...EMPTY_CLASS_FORM, name: 'Morning spin', start: '2027-03-22T07:00', days: ['MO' as const, 'WE' as const] };

test('a valid class form has no errors and becomes the API body with its weekly rule', () => {
  const errors = classFormErrors(validClass, check);
  assert.equal(hasErrors(errors), false);
  assert.deepEqual(classFormToBody({ ...validClass, instructors: 'coach-1, coach-2 coach-1', until: '2027-12-31' }), {
    name: 'Morning spin',
    description: '',
    room: '',
    instructors: ['coach-1', 'coach-2'],
    capacity: 20,
    start: '2027-03-22T07:00',
    durationMinutes: 60,
    rrule: 'FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20271231',
    bookingOpensDays: 14,
    cancellationWindowMinutes: 120,
    waitlistLimit: 10,
  });
  assert.equal('rrule' in classFormToBody({ ...validClass, days: [] }), false);
});

test('the class form names each bad field with the check that failed', () => {
  const errors = classFormErrors(
    {
      ...validClass,
      name: ' ',
      capacity: '0',
      durationMinutes: '1.5',
      start: '2027-03-22',
      instructors: 'ok bad/id',
      until: '2027-01-01',
      bookingOpensDays: '',
      waitlistLimit: '1001',
    },
    check,
  );
  assert.deepEqual(errors.fields, {
    name: 'adminCheckRequired',
    capacity: 'adminCheckBetween(1,10000)',
    durationMinutes: 'adminCheckWholeNumber',
    start: 'adminCheckLocalTime',
    instructors: 'adminCheckId',
    until: 'adminCheckUntilAfterStart',
    bookingOpensDays: 'adminCheckRequired',
    waitlistLimit: 'adminCheckBetween(0,1000)',
  });
  assert.equal(classFormErrors({ ...validClass, until: '2027-03-01' }, check).fields.until, 'adminCheckUntilAfterStart');
  assert.equal(classFormErrors({ ...validClass, until: '2027-03-22' }, check).fields.until, undefined);
});

test('a class with a rule the weekday editor cannot show keeps that rule unchanged', () => {
  const record: ClassRecord = {
    id: 'c1',
    name: 'Monthly',
    description: '',
    room: 'A',
    instructors: ['u1'],
    capacity: 10,
    start: '2027-03-01T18:00',
    durationMinutes: 45,
    rrule: 'FREQ=MONTHLY;BYMONTHDAY=1',
    bookingOpensDays: 7,
    cancellationWindowMinutes: 60,
    waitlistLimit: 0,
    timeZone: 'Europe/Berlin',
  };
  const form = classToForm(record);
  assert.equal(form.customRule, 'FREQ=MONTHLY;BYMONTHDAY=1');
  assert.equal(classFormToBody(form)['rrule'], 'FREQ=MONTHLY;BYMONTHDAY=1');
  const weekly = classToForm({ ...record, rrule: 'FREQ=WEEKLY;BYDAY=TU;UNTIL=20271231' });
  assert.deepEqual([weekly.days, weekly.until, weekly.customRule], [['TU'], '2027-12-31', undefined]);
});

test('the equipment form wants a type, a name, a serial and attributes as a JSON object', () => {
  assert.deepEqual(equipmentFormErrors({ type: '', name: '', serial: ' ', location: '', attributes: '[1]' }, check).fields, {
    type: 'adminCheckRequired',
    name: 'adminCheckRequired',
    serial: 'adminCheckRequired',
    attributes: 'adminCheckJsonObject',
  });
  assert.equal(equipmentFormErrors({ type: 't', name: 'n', serial: 's', location: '', attributes: '{not json' }, check).fields.attributes, 'adminCheckJsonObject');
  const form = { type: 'bike-type', name: ' Bike 1 ', serial: 'SN-1', location: '', attributes: '{"resistance": 20}' };
  assert.equal(hasErrors(equipmentFormErrors(form, check)), false);
  assert.deepEqual(equipmentFormToBody(form, 'gym-a'), { gym: 'gym-a', type: 'bike-type', name: 'Bike 1', serial: 'SN-1', attributes: { resistance: 20 } });
});

test('a webhook needs an https URL and at least one event', () => {
  assert.deepEqual(webhookFormErrors({ url: 'http://example.com/hook', events: [] }, check).fields, { url: 'adminCheckHttps', events: 'adminCheckEvents' });
  assert.deepEqual(webhookFormErrors({ url: 'not a url', events: ['agent.offline'] }, check).fields, { url: 'adminCheckHttps' });
  assert.deepEqual(webhookFormErrors({ url: '', events: ['agent.offline'] }, check).fields, { url: 'adminCheckRequired' });
  assert.equal(hasErrors(webhookFormErrors({ url: 'https://example.com/hook', events: ['agent.offline'] }, check)), false);
});

test('an agent id follows the registry: a letter or digit first, at most 64 characters', () => {
  assert.deepEqual(agentFormErrors({ id: '' }, check).fields, { id: 'adminCheckRequired' });
  assert.deepEqual(agentFormErrors({ id: '-box' }, check).fields, { id: 'adminCheckId' });
  assert.deepEqual(agentFormErrors({ id: 'x'.repeat(65) }, check).fields, { id: 'adminCheckId' });
  assert.deepEqual(agentFormErrors({ id: 'gym-a_box1' }, check).fields, {});
});

test('photo URLs from the API become client paths, and the enroll command names this hub and the code', () => {
  assert.equal(apiRelative('/api/v1/equipment/e1/photos/p1/thumb-256'), '/equipment/e1/photos/p1/thumb-256');
  assert.equal(apiRelative('/elsewhere/x'), '/elsewhere/x');
  assert.equal(enrollCommand('https://hub.gym.example', 'ABCDE-FGHJK'), 'pulsebridge-agent enroll --hub https://hub.gym.example --code ABCDE-FGHJK');
  assert.equal(deliveriesPath('w 1'), '/app/admin/webhooks/w%201');
});
