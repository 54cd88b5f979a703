/** Sensor pairing in the domain: bindingAt over histories, loans ending by themselves. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { until } from '@pulsebridge/runtime';
import { bindingAt, endExpiredLoans, sweepExpiredLoans, type Binding } from '../../src/domain/pairing/bindings.ts';
import { BINDINGS } from '../../src/domain/pairing/collections.ts';
import { testDomain } from './test-domain.ts';

const binding = (id: string, athlete: string, from: number, until: number | undefined, extra: Partial<Binding> = {}): Binding => ({
  id,
  gym: 'gym-1',
  sensor: 'ble:aa-bb-cc-dd-ee-ff',
  athlete,
  active: until === undefined,
  from,
  ...(until === undefined ? {} : { until }),
  kind: 'own',
  createdBy: athlete,
  ...extra,
});

test('bindingAt gives the binding valid at a time, for late readings too, the latest-begun one where histories overlap', async (t) => {
  const { domain, cleanup } = await testDomain();
  t.after(cleanup);
  const bindings = domain.documents.collection(BINDINGS);
  await bindings.insert(binding('first', 'anna', 1_000, 2_000));
  await bindings.insert(binding('loan', 'ben', 2_000, 3_000, { kind: 'loaner' }));
  // Overlaps the loan's tail: written as if the loan had been cut short at 2 500 without its until changed.
  await bindings.insert(binding('now', 'carla', 2_500, undefined));
  // The same sensor in another gym is another gym's business.
  await bindings.insert(binding('elsewhere', 'dora', 0, undefined, { gym: 'gym-2' }));
  const at = async (t: number) => (await bindingAt(domain.documents, 'gym-1', 'ble:aa-bb-cc-dd-ee-ff', t))?.athlete;
  assert.equal(await at(999), undefined);
  assert.equal(await at(1_000), 'anna');
  assert.equal(await at(1_999), 'anna');
  assert.equal(await at(2_000), 'ben', 'until is exclusive, from inclusive');
  assert.equal(await at(2_499), 'ben');
  assert.equal(await at(2_500), 'carla', 'the binding begun last wins the overlap');
  assert.equal(await at(10_000_000), 'carla', 'an open binding covers all that follows');
  assert.equal((await bindingAt(domain.documents, 'gym-2', 'ble:aa-bb-cc-dd-ee-ff', 1_500))?.athlete, 'dora');
  assert.equal(await bindingAt(domain.documents, 'gym-1', 'ble:00-00-00-00-00-00', 1_500), undefined);
});

test('bindingAt finds an old binding behind more than a page of later ones', async (t) => {
  const { domain, cleanup } = await testDomain();
  t.after(cleanup);
  const bindings = domain.documents.collection(BINDINGS);
  await bindings.insert(binding('old', 'anna', 0, 500));
  for (let i = 0; i < 250; i++) await bindings.insert(binding(`b${i}`, `athlete-${i}`, 1_000 + i * 10, 1_000 + i * 10 + 5));
  assert.equal((await bindingAt(domain.documents, 'gym-1', 'ble:aa-bb-cc-dd-ee-ff', 100))?.id, 'old');
  assert.equal((await bindingAt(domain.documents, 'gym-1', 'ble:aa-bb-cc-dd-ee-ff', 1_000 + 7 * 10 + 4))?.id, 'b7');
  assert.equal(await bindingAt(domain.documents, 'gym-1', 'ble:aa-bb-cc-dd-ee-ff', 1_000 + 7 * 10 + 6), undefined);
});

test('endExpiredLoans ends the loans whose until passed, keeps their until, and republishes their gyms once', async (t) => {
  let clock = 10_000;
  const { domain, pairing, cleanup } = await testDomain({ now: () => clock });
  t.after(cleanup);
  const bindings = domain.documents.collection(BINDINGS);
  await bindings.insert({ ...binding('loan-1', 'anna', 1_000, 20_000, { kind: 'loaner' }), active: true });
  await bindings.insert({ ...binding('loan-2', 'ben', 1_000, 30_000, { kind: 'loaner', gym: 'gym-2' }), active: true });
  await bindings.insert(binding('own', 'carla', 1_000, undefined, { sensor: 'ant:120:1:1' }));
  assert.equal(await endExpiredLoans(domain), 0);
  assert.deepEqual(pairing.changedGyms, []);
  clock = 20_000;
  assert.equal(await endExpiredLoans(domain), 1);
  assert.deepEqual(pairing.changedGyms, ['gym-1']);
  assert.deepEqual(await bindings.get('loan-1'), { ...binding('loan-1', 'anna', 1_000, 20_000, { kind: 'loaner' }), active: false });
  assert.equal((await bindings.get('loan-2'))?.active, true);
  assert.equal(await endExpiredLoans(domain), 0, 'an ended loan is ended once');
  clock = 1_000_000;
  assert.equal(await endExpiredLoans(domain), 1);
  assert.deepEqual(pairing.changedGyms, ['gym-1', 'gym-2']);
  assert.equal((await bindings.get('own'))?.active, true, 'an open binding has no end to pass');
});

test('a failed allowlist publish is logged and does not undo or fail the sweep', async (t) => {
  const lines: { level: number; msg: string; gym?: string }[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  const { domain, cleanup } = await testDomain({ now: () => 10_000, log });
  t.after(cleanup);
  domain.pairing = {
    gymChanged: async () => {
      throw new Error('broker down');
    },
    openWindow: async () => {},
    nearby: () => [],
  };
  await domain.documents.collection(BINDINGS).insert({ ...binding('loan', 'anna', 1_000, 5_000, { kind: 'loaner' }), active: true });
  assert.equal(await endExpiredLoans(domain), 1);
  assert.equal((await domain.documents.collection(BINDINGS).get('loan'))?.active, false);
  assert.deepEqual(
    lines.map((line) => [line.msg, line.gym]),
    [['publishing the allowlist failed', 'gym-1']],
  );
});

test('the loan sweep ends a loan on its timer, with no request, until stopped', async (t) => {
  let clock = 10_000;
  let sweepsStarted = 0;
  const { domain, pairing, cleanup } = await testDomain({
    now: () => {
      sweepsStarted++;
      return clock;
    },
  });
  t.after(cleanup);
  t.mock.timers.enable({ apis: ['setInterval'] });
  const bindings = domain.documents.collection(BINDINGS);
  await bindings.insert({ ...binding('loan-1', 'anna', 1_000, 20_000, { kind: 'loaner' }), active: true });
  await bindings.insert({ ...binding('loan-2', 'ben', 1_000, 40_000, { kind: 'loaner', sensor: 'ant:120:2:1' }), active: true });
  const stop = sweepExpiredLoans(domain, 60_000);
  clock = 30_000;
  t.mock.timers.tick(60_000);
  await until('the first loan ended by the sweep', async () => (await bindings.get('loan-1'))?.active === false, 2_000);
  assert.deepEqual(pairing.changedGyms, ['gym-1']);
  stop();
  const started = sweepsStarted;
  clock = 50_000;
  // A sweep reads the clock as it starts, before it awaits anything.
  t.mock.timers.tick(120_000);
  assert.equal(sweepsStarted, started, 'a stopped sweep does not run');
  assert.equal((await bindings.get('loan-2'))?.active, true);
});
