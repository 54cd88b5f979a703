/**
 * The demo's people and its live class, so the web app and the class board have something to show from the
 * first start. People are accounts a gym would have: a coach and twenty athletes with profiles (the first start
 * writes them into the identity store before the hub runs, as `pulsebridge-hub admin create` does for the admin;
 * the coach and the first athlete get passwords to sign in with). The class is made through the public API as
 * the operator: the simulator's straps become the gym's loaner straps, a one-off "Open spin" starts two minutes
 * from now with every athlete booked, its run is started at once, and each athlete is lent a strap for it. A
 * later start finds the run still running and leaves it, or makes the next one once it ended.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { until } from '@pulsebridge/runtime';
import { generatePassword } from '../hub/src/identity/bootstrap.ts';
import type { IdentityStore } from '../hub/src/identity/identity-store.ts';
import { hashPassword, PASSWORD_PARAMS } from '../hub/src/identity/passwords.ts';
import type { DemoRequest } from './demo-gym.ts';

export const DEMO_ATHLETES = 20;
const CLASS_MINUTES = 60;

export interface DemoPerson {
  id: string;
  name: string;
  email: string;
  /** Only the coach and the first athlete sign in. */
  password?: string;
}

export interface DemoPeople {
  coach: DemoPerson;
  athletes: DemoPerson[];
}

const FIRST_NAMES = [
  'Anna',
  'Ben',
  'Chloe',
  'David',
  'Elena',
  'Felix',
  'Greta',
  'Hugo',
  'Ida',
  'Jonas',
  'Katya',
  'Leon',
  'Mia',
  'Nikita',
  'Olga',
  'Paul',
  'Rosa',
  'Sami',
  'Tanja',
  'Viktor',
];

/**
 * The coach and athletes, made once in `store` (the hub is not running yet) and remembered in `file` (mode 0600:
 * it holds two passwords); a later start reads the file.
 */
export async function ensureDemoPeople(store: IdentityStore, gym: string, file: string): Promise<DemoPeople> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DemoPeople;
  const make = async (name: string, role: 'coach' | 'athlete', signsIn: boolean, index: number): Promise<DemoPerson> => {
    const email = `${name.toLowerCase().replace(/\W+/g, '.')}@demo.pulsebridge.example`;
    const user = (await store.findUserByEmail(email)) ?? (await store.createUser({ email, displayName: name }));
    await store.addMembership({ userId: user.id, gym, role });
    if (role === 'athlete') {
      // Ages 22-55 and weights 55-90 kg, so % of max and calories differ between tiles; names on the board.
      await store.saveProfile(user.id, {
        birthDate: `${1970 + ((index * 7) % 34)}-0${1 + (index % 9)}-15`,
        sex: index % 2 === 0 ? 'female' : 'male',
        weightKg: 55 + ((index * 13) % 36),
        resultsVisibility: 'gym',
        boardVisibility: 'name',
        leaderboards: true,
      });
    }
    const person: DemoPerson = { id: user.id, name, email };
    if (signsIn) {
      person.password = generatePassword();
      await store.setPassword(user.id, { hash: await hashPassword(person.password), paramsVersion: PASSWORD_PARAMS.version });
    }
    return person;
  };
  const people: DemoPeople = {
    coach: await make('Cora Coach', 'coach', true, 0),
    athletes: [],
  };
  for (const [i, first] of FIRST_NAMES.slice(0, DEMO_ATHLETES).entries()) people.athletes.push(await make(`${first} Athlete`, 'athlete', i === 0, i));
  writeFileSync(file, `${JSON.stringify(people, null, 2)}\n`, { mode: 0o600 });
  return people;
}

export interface DemoClassOptions {
  hubUrl: string;
  gym: string;
  agent: string;
  /** The operator's token: platform admin, with gym:read, gym:write, me:write (booking for others) and agents:read. */
  token: string;
  request: DemoRequest;
  people: DemoPeople;
}

interface Running {
  id: string;
  class: string;
}

/** A running class with every athlete on a strap: the one running already, else a new one. Returns its run. */
export async function ensureDemoClass(options: DemoClassOptions): Promise<{ run: string; started: boolean }> {
  const { hubUrl, gym, agent, people } = options;
  const call = async <T>(method: string, path: string, body?: unknown, allow: number[] = []): Promise<T | undefined> => {
    const headers: Record<string, string> = { Authorization: `Bearer ${options.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const { status, text } = await options.request(method, `${hubUrl}/api/v1${path}`, headers, body === undefined ? undefined : JSON.stringify(body));
    if (allow.includes(status)) return undefined;
    if (status >= 300) throw new Error(`demo class: ${method} ${path} answered ${status}: ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
  const running = await call<{ items: Running[] }>('GET', `/gyms/${gym}/class-runs?state=running`);
  if (running!.items.length > 0) return { run: running!.items[0]!.id, started: false };

  // The simulator's straps, as the agent reports them: one per athlete, in the simulator's athlete order.
  let straps: string[] = [];
  await until(
    `the demo agent to report ${DEMO_ATHLETES} heart-rate straps`,
    async () => {
      const view = await call<{ sensors: { id: string; kind: string; name?: string }[] }>('GET', `/agents/${agent}`);
      straps = view!.sensors
        .filter((sensor) => sensor.kind === 'heart_rate')
        .sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id))
        .map((sensor) => sensor.id);
      return straps.length >= DEMO_ATHLETES;
    },
    60_000,
    500,
  );
  const gymSensors = new Map<string, string>();
  for (const [i, sensor] of straps.slice(0, DEMO_ATHLETES).entries()) {
    await call('POST', '/gym-sensors', { gym, sensor, kind: 'heart_rate', label: `Strap ${i + 1}` }, [409]);
  }
  for (const item of (await call<{ items: { id: string; sensor: string }[] }>('GET', `/gym-sensors?gym=${gym}&limit=100`))!.items) gymSensors.set(item.sensor, item.id);

  // Two minutes ahead: booking closes when a class starts, and a coach may start the run 30 minutes early.
  const start = Math.ceil((Date.now() + 2 * 60_000) / 60_000) * 60_000;
  const end = start + CLASS_MINUTES * 60_000;
  const cls = (await call<{ id: string }>('POST', '/classes', {
    gym,
    name: 'Open spin',
    description: 'The demo class: twenty athletes on the gym’s loaner straps',
    room: 'Studio 1',
    instructors: [people.coach.id],
    capacity: DEMO_ATHLETES,
    start: localMinute(start, 'Europe/Berlin'),
    durationMinutes: CLASS_MINUTES,
    bookingOpensDays: 1,
    cancellationWindowMinutes: 0,
    waitlistLimit: 0,
  }))!;
  const occurrence = `/classes/${cls.id}/occurrences/${new Date(start).toISOString().replace('.000Z', 'Z')}`;
  for (const athlete of people.athletes) await call('POST', `${occurrence}/bookings`, { user: athlete.id });
  const run = (await call<{ id: string }>('POST', `${occurrence}/run`))!;
  for (const [i, athlete] of people.athletes.entries()) {
    const gymSensor = gymSensors.get(straps[i]!);
    if (gymSensor === undefined) continue;
    await call('POST', `/gym-sensors/${gymSensor}/loans`, { athlete: athlete.id, until: new Date(end).toISOString(), classId: cls.id }, [409]);
    // Most have arrived; a few are still on their way to the front desk.
    if (i % 5 !== 4) await call('POST', `${occurrence}/bookings/${athlete.id}/check-in`);
  }
  return { run: run.id, started: true };
}

/** `YYYY-MM-DDTHH:mm` in `timeZone`, as the class API takes a first occurrence. */
function localMinute(at: number, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(at))
      .map((part) => [part.type, part.value]),
  );
  return `${parts['year']}-${parts['month']}-${parts['day']}T${parts['hour']}:${parts['minute']}`;
}
