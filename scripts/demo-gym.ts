/**
 * The demo's gym, made through the public API on the demo's first start (and skipped once the gym has settings):
 * its time zone, spin bikes with their attribute schema and built-in power meters, a workout template, and a
 * weekly class that uses it. What the demo prints lets anyone look at it with the operator's token.
 */
/** One HTTPS request to the hub, trusting the demo's development CA: status and body text. */
export type DemoRequest = (method: string, url: string, headers: Record<string, string>, body?: string) => Promise<{ status: number; text: string }>;

export interface DemoGymOptions {
  hubUrl: string;
  gym: string;
  /** A token of a client holding gym_admin (or platform_admin) with gym:read and gym:write. */
  token: string;
  request: DemoRequest;
}

interface Created {
  id: string;
}

export async function ensureDemoGym(options: DemoGymOptions): Promise<'created' | 'exists'> {
  const { hubUrl, gym, token } = options;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const { status, text } = await options.request(method, `${hubUrl}/api/v1${path}`, headers, body === undefined ? undefined : JSON.stringify(body));
    if (status >= 300) throw new Error(`demo gym: ${method} ${path} answered ${status}: ${text}`);
    return JSON.parse(text) as T;
  };
  const settings = await call<{ configured: boolean }>('GET', `/gyms/${gym}`);
  if (settings.configured) return 'exists';

  await call('PUT', `/gyms/${gym}`, { name: 'Pulsebridge Demo Gym', timeZone: 'Europe/Berlin' });
  const bikeType = await call<Created>('POST', '/equipment-types', {
    gym,
    name: 'Spin bike',
    kind: 'bike',
    attributesSchema: {
      type: 'object',
      properties: { frameSize: { enum: ['S', 'M', 'L'] }, maxRiderKg: { type: 'integer', minimum: 50, maximum: 250 } },
      required: ['frameSize'],
      additionalProperties: false,
    },
  });
  for (const [i, frameSize] of ['M', 'L'].entries()) {
    await call('POST', '/equipment', {
      gym,
      name: `Spin bike ${i + 1}`,
      type: bikeType.id,
      serial: `DEMO-SPIN-00${i + 1}`,
      location: 'Studio 1, front row',
      attributes: { frameSize, maxRiderKg: 150 },
      builtIn: [{ sensor: `ble:d0-00-00-00-00-0${i + 1}`, role: 'power' }],
    });
  }
  const pyramid = await call<Created>('POST', '/trainings', {
    gym,
    name: 'Pyramid intervals',
    description: 'Heart-rate pyramid: zones 3, 4, 5 and back, with recoveries',
    sport: 'cycling',
    steps: [
      { type: 'step', kind: 'warmup', durationSeconds: 600, target: { type: 'hr_zone', zone: 2 } },
      {
        type: 'repeat',
        count: 3,
        steps: [
          { type: 'step', kind: 'work', durationSeconds: 180, target: { type: 'hr_zone', zone: 4 } },
          { type: 'step', kind: 'recovery', durationSeconds: 120, target: { type: 'hr_zone', zone: 2 } },
        ],
      },
      { type: 'step', kind: 'cooldown', durationSeconds: 300, target: { type: 'hr_zone', zone: 1 } },
    ],
  });
  await call('POST', '/classes', {
    gym,
    name: 'Morning spin',
    description: 'Indoor cycling to heart-rate zones, shown on the class board',
    room: 'Studio 1',
    instructors: [],
    capacity: 20,
    training: pyramid.id,
    start: nextMondayAt7(),
    durationMinutes: 45,
    rrule: 'FREQ=WEEKLY;BYDAY=MO,WE,FR',
    bookingOpensDays: 7,
    cancellationWindowMinutes: 120,
    waitlistLimit: 10,
  });
  return 'created';
}

/** Next Monday's date at 07:00 local, as the class API takes a first occurrence. */
function nextMondayAt7(): string {
  const day = new Date();
  day.setUTCDate(day.getUTCDate() + ((8 - day.getUTCDay()) % 7 || 7));
  return `${day.toISOString().slice(0, 10)}T07:00`;
}
