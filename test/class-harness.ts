/**
 * A gym for the class system tests: a real hub in this process (so the test can read its stores and call its
 * domain where no route exists yet), one real agent process whose simulator plays the athletes' straps with
 * radio admission, and the gym's people made as they are in production: identity users with memberships and
 * profiles, booking, cancelling and pairing through the HTTP API with their own access tokens.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { importJWK, SignJWT, type JWK } from 'jose';
import pino from 'pino';
import { until } from '@pulsebridge/runtime';
import { SimulatorSource, simulatorConfig } from '../edge-agent/src/sources/simulator/index.ts';
import type { ClassRunView, SessionView } from '../hub/src/api/sessions-schemas.ts';
import { hubApiAudience, hubTokenIssuer } from '../hub/src/auth/access-tokens.ts';
import { API_SCOPES } from '../hub/src/auth/principal.ts';
import type { Domain } from '../hub/src/domain/domain.ts';
import type { BoardSnapshot } from '../hub/src/api/board-operations.ts';
import { Hub } from '../hub/src/hub.ts';
import { platformToken, testHubConfig } from '../hub/test/test-hub.ts';
import { AgentRunner } from './harness.ts';
import type { HeartRateReading, ProfileFacts } from './class-results.ts';

export interface Person {
  id: string;
  name: string;
  token: string;
}

export interface Athlete extends Person {
  profile: ProfileFacts;
  /** The simulated strap the athlete pairs; undefined: the athlete has none. */
  strap?: string;
}

export interface ClassInfo {
  id: string;
  /** The occurrence, by its rule's start: ms and as the API paths write it. */
  start: number;
  startIso: string;
}

export interface Answer<T> {
  status: number;
  body: T;
}

/** Simulated straps only (no equipment), admitted by the hub's pairing, one per simulated athlete. */
export function strapSimulator(athletes: number, seed: number): Record<string, unknown> {
  return { athletes, seed, admission: true, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } };
}

/** The simulator the agent runs, built here too: same seed, same straps, same signal at the same times. */
export function simulatorOf(simulator: Record<string, unknown>): SimulatorSource {
  return new SimulatorSource({ ...simulatorConfig(simulator), now: Date.now, log: pino({ level: 'silent' }) });
}

/** The heart rate strap `strap` sends in [from, to): the simulator's signal, regenerated. */
export function heartRateOf(simulator: SimulatorSource, strap: string, from: number, to: number): HeartRateReading[] {
  return simulator
    .generate(from, to)
    .filter((r) => r.sensor === strap && r.metric === 'heart_rate')
    .map((r) => ({ ts: r.ts, value: r.value }));
}

/** A varied profile per athlete: ages 20 to 59, birthdays over the year, both sexes, a measured max for half. */
export function profileOf(index: number, now: number): ProfileFacts {
  const age = 20 + ((index * 7) % 40);
  const month = String(1 + (index % 12)).padStart(2, '0');
  const day = String(1 + ((index * 5) % 28)).padStart(2, '0');
  const profile: ProfileFacts = {
    birthDate: `${new Date(now).getUTCFullYear() - age}-${month}-${day}`,
    weightKg: 52 + ((index * 13) % 45),
    sex: index % 2 === 0 ? 'female' : 'male',
  };
  if (index % 2 === 1) profile.maxHeartRate = 170 + ((index * 3) % 25);
  return profile;
}

export interface ClassGymOptions {
  dir: string;
  gym: string;
  agentId: string;
  simulator: Record<string, unknown>;
  /** How often the hub looks for late readings (its `sessions.lateIntervalMs`). */
  lateIntervalMs: number;
  /** The agent's MQTT URL for the hub's broker port (a test may put a link in between). */
  brokerUrl?: (mqttPort: number) => Promise<string>;
  /** The agent's uplink settings. */
  uplink?: Record<string, unknown>;
  /** More PB_HUB_* variables for the hub (e.g. a fixed port and its issuer for browser sign-in). */
  hubEnv?: Record<string, string>;
}

export class ClassGym {
  readonly hub: Hub;
  readonly agent: AgentRunner;
  readonly gym: string;
  private adminToken = '';

  private constructor(hub: Hub, agent: AgentRunner, gym: string) {
    this.hub = hub;
    this.agent = agent;
    this.gym = gym;
  }

  /** Starts the hub, enrolls the agent in the gym, saves the gym's settings, and starts the agent. */
  static async start(options: ClassGymOptions): Promise<ClassGym> {
    const hubDir = join(options.dir, 'hub');
    const hub = new Hub(testHubConfig(hubDir, { PB_HUB_SESSIONS__LATE_INTERVAL_MS: String(options.lateIntervalMs), ...options.hubEnv }), {
      log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    });
    await hub.start();
    const mqttPort = hub.addresses.mqtt!.port;
    const { secret } = await hub.domain!.agents.create(options.agentId, options.gym);
    const mqttUrl = options.brokerUrl === undefined ? `mqtt://127.0.0.1:${mqttPort}` : await options.brokerUrl(mqttPort);
    const uplink = { reconnectMinMs: 100, reconnectMaxMs: 500, ackTimeoutMs: 5000, liveBatchDelayMs: 200, ...options.uplink };
    const agent = new AgentRunner({ dir: options.dir, id: options.agentId, secret, mqttUrl, simulator: options.simulator, config: { uplink } });
    const gym = new ClassGym(hub, agent, options.gym);
    gym.adminToken = await platformToken(hub);
    await gym.call('PUT', `/gyms/${options.gym}`, { body: { name: 'Class test gym', timeZone: 'UTC' } });
    await agent.start();
    return gym;
  }

  get domain(): Domain {
    return this.hub.domain!;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.hub.addresses.http!.port}/api/v1`;
  }

  /** One API request, as the platform admin unless `token` is given; fails unless it answers `expect` (default 2xx). */
  async call<T = Record<string, unknown>>(method: string, path: string, options: { token?: string; body?: unknown; expect?: number } = {}): Promise<Answer<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${options.token ?? this.adminToken}`, ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    if (options.expect === undefined) assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    else assert.equal(response.status, options.expect, `${method} ${path}: ${text}`);
    return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as T };
  }

  /**
   * An access token of `user` as the hub's token endpoint issues it to the mobile app: signed with the hub's
   * signing key, for the hub's API. The sign-in flows that issue them have their own tests (hub/test/oidc);
   * signing here spares every athlete a password sign-in (an argon2 hash each) on a shared test machine.
   */
  async tokenFor(user: string): Promise<string> {
    const keys = await this.domain.identity.listSigningKeys();
    const signing = keys.find((key) => key.retiredAt === undefined)!;
    const key = await importJWK(signing.privateJwk as JWK, signing.alg);
    const issuer = this.hub.config.identity.issuer;
    return new SignJWT({ scope: Object.keys(API_SCOPES).join(' '), client_id: 'pulsebridge-mobile' })
      .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt' })
      .setIssuer(hubTokenIssuer(issuer))
      .setAudience(hubApiAudience(issuer))
      .setSubject(user)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key);
  }

  /** A user of the identity store with `role` in the gym (given through the members API) and a token. */
  async person(name: string, role: 'athlete' | 'coach'): Promise<Person> {
    const user = await this.domain.identity.createUser({ email: `${name.toLowerCase().replace(/\W+/g, '.')}@example.com`, displayName: name });
    await this.call('PUT', `/gyms/${this.gym}/members/${user.id}/roles/${role}`);
    return { id: user.id, name, token: await this.tokenFor(user.id) };
  }

  /** An athlete who saved their profile (birth date, weight, sex, maybe a measured max) through the API. */
  async athlete(name: string, profile: ProfileFacts): Promise<Athlete> {
    const person = await this.person(name, 'athlete');
    await this.call('PUT', '/me/profile', { token: person.token, body: { displayName: name, resultsVisibility: 'gym', boardVisibility: 'name', ...profile } });
    return { ...person, profile };
  }

  /** A one-off class of `capacity` places starting in about 20 minutes (a coach may start a run 30 minutes early), led by `coach`; athletes may cancel until it starts. */
  async createClass(name: string, coach: Person, capacity: number): Promise<ClassInfo> {
    const start = Math.ceil((Date.now() + 20 * 60_000) / 60_000) * 60_000;
    const { body } = await this.call<{ id: string }>('POST', '/classes', {
      body: {
        gym: this.gym,
        name,
        description: 'A simulated class',
        room: 'Studio 1',
        instructors: [coach.id],
        capacity,
        start: new Date(start).toISOString().slice(0, 16),
        durationMinutes: 60,
        bookingOpensDays: 7,
        cancellationWindowMinutes: 0,
        waitlistLimit: 5,
      },
    });
    return { id: body.id, start, startIso: new Date(start).toISOString() };
  }

  occurrencePath(cls: ClassInfo): string {
    return `/classes/${cls.id}/occurrences/${cls.startIso}`;
  }

  /**
   * Tap-to-pair, as the mobile app does it: the athlete opens a discovery window (the gym's agents listen for
   * unpaired straps), polls it until their strap is among the candidates, and confirms it from the window.
   */
  async tapToPair(athlete: Athlete, strap: string): Promise<void> {
    const { body: window } = await this.call<{ windowId: string }>('POST', '/me/sensors/discover', { token: athlete.token, body: { gym: this.gym }, expect: 201 });
    await until(
      `${athlete.name}'s strap to be heard in their discovery window`,
      async () => {
        const { body } = await this.call<{ candidates: { sensor: string }[] }>('GET', `/me/sensors/discover/${window.windowId}`, { token: athlete.token });
        return body.candidates.some((c) => c.sensor === strap);
      },
      20_000,
      200,
    );
    const { body: binding } = await this.call<{ sensor: string; athlete: string; active: boolean }>('POST', '/me/sensors', {
      token: athlete.token,
      body: { gym: this.gym, sensor: strap, window: window.windowId, label: 'my strap' },
      expect: 201,
    });
    assert.deepEqual({ sensor: binding.sensor, athlete: binding.athlete, active: binding.active }, { sensor: strap, athlete: athlete.id, active: true });
    athlete.strap = strap;
  }

  /** Heart-rate readings the hub stored for `strap` in [from, to). */
  async storedHeartRate(strap: string, from: number, to: number): Promise<HeartRateReading[]> {
    return this.domain.series.readRaw({ gym: this.gym, sensor: strap, metric: 'heart_rate', from, to }, 100_000);
  }

  /** Waits until the hub has stored a heart-rate reading at or after `at` for every strap. */
  async storedUntil(straps: readonly string[], at: number, timeoutMs: number): Promise<void> {
    await until(
      `the hub to store every strap's heart rate up to ${new Date(at).toISOString()}`,
      async () => {
        for (const strap of straps) if ((await this.storedHeartRate(strap, at, Number.MAX_SAFE_INTEGER)).length === 0) return false;
        return true;
      },
      timeoutMs,
      200,
    );
  }

  /**
   * Waits until the hub has stored as many heart-rate readings of each strap in [from, to) as `sent` holds for
   * it, then asserts they are exactly those: every reading of the class arrived, once, as the simulator made it.
   */
  async storedExactly(sent: ReadonlyMap<string, HeartRateReading[]>, from: number, to: number, what: string): Promise<void> {
    await until(
      what,
      async () => {
        for (const [strap, readings] of sent) if ((await this.storedHeartRate(strap, from, to)).length < readings.length) return false;
        return true;
      },
      30_000,
      200,
    );
    for (const [strap, readings] of sent) assert.deepEqual(await this.storedHeartRate(strap, from, to), readings, `${strap}'s readings as stored`);
  }

  async stop(): Promise<void> {
    await this.agent.stop();
    await this.hub.stop();
  }
}

/** One tile of the live board, as the board stream sends it (the API's own schema type). */
export type BoardTile = BoardSnapshot['tiles'][number];

/** A board event: `board` carries every tile with the run and its state, `tiles` only the changed ones. */
export type BoardEvent = { event: string; tiles: BoardTile[] } & Partial<Omit<BoardSnapshot, 'tiles'>>;

/**
 * The live board of a run as a wall screen reads it (GET /class-runs/:id/board, Server-Sent Events): `next`
 * waits for the first event that satisfies a condition.
 */
export async function openBoard(
  gym: ClassGym,
  runId: string,
  token: string,
): Promise<{ next(what: string, ok: (e: BoardEvent) => boolean, timeoutMs: number): Promise<BoardEvent>; close(): void }> {
  const abort = new AbortController();
  const response = await fetch(`${gym.baseUrl}/class-runs/${encodeURIComponent(runId)}/board`, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  const events: BoardEvent[] = [];
  const read = async (): Promise<void> => {
    const { value, done } = await reader.read();
    if (done) throw new Error('the board stream ended');
    buffered += value;
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const name = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (name !== undefined && data !== undefined) events.push({ event: name, ...(JSON.parse(data) as Omit<BoardEvent, 'event'>) });
    }
  };
  return {
    async next(what, ok, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.splice(0).find(ok);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} on the board`);
        await read();
      }
    },
    close: () => abort.abort(),
  };
}

/** The coach starts the class's run (POST /classes/:id/occurrences/:start/run). */
export async function startRun(gym: ClassGym, cls: ClassInfo, coach: Person): Promise<ClassRunView> {
  const { body } = await gym.call<ClassRunView>('POST', `${gym.occurrencePath(cls)}/run`, { token: coach.token, expect: 201 });
  return body;
}

/** The coach ends it (POST /class-runs/:id/end). */
export async function endRun(gym: ClassGym, runId: string, coach: Person): Promise<ClassRunView> {
  const { body } = await gym.call<ClassRunView>('POST', `/class-runs/${encodeURIComponent(runId)}/end`, { token: coach.token });
  return body;
}

/** Every athlete's session of the run, as the coach reads them (GET /class-runs/:id/results, every page). */
export async function runResults(gym: ClassGym, runId: string, coach: Person): Promise<SessionView[]> {
  const sessions: SessionView[] = [];
  let path: string | undefined = `/class-runs/${encodeURIComponent(runId)}/results?limit=100`;
  while (path !== undefined) {
    const { body }: Answer<{ items: { session: SessionView }[]; nextCursor?: string }> = await gym.call('GET', path, { token: coach.token });
    for (const item of body.items) sessions.push(item.session);
    path = body.nextCursor === undefined ? undefined : `/class-runs/${encodeURIComponent(runId)}/results?limit=100&cursor=${encodeURIComponent(body.nextCursor)}`;
  }
  return sessions;
}
