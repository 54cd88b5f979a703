/**
 * What the live-board benchmarks share: a running class run whose athletes have their sensors bound, a viewer
 * reading the run's board stream (SSE) as a wall screen does, and percentiles of the delays they collect.
 */
import type { BoardSnapshot } from '../../hub/src/api/board-operations.ts';
import type { Domain } from '../../hub/src/domain/domain.ts';
import { BOOKINGS } from '../../hub/src/domain/classes/collections.ts';
import { BINDINGS } from '../../hub/src/domain/pairing/collections.ts';
import { CLASS_RUNS } from '../../hub/src/domain/sessions/collections.ts';
import { serviceToken } from '../../hub/test/service-token.ts';

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export interface BoundAthlete {
  athlete: string;
  /** The sensors bound to the athlete from the run's start. */
  sensors: readonly string[];
}

/** A running run of class `spin` in `gym` started at `startedAt`, each athlete booked with their sensors bound; its id. */
export async function runningClassRun(domain: Domain, gym: string, athletes: readonly BoundAthlete[], startedAt: number): Promise<string> {
  const run = `spin@${startedAt}`;
  await domain.documents.collection(CLASS_RUNS).insert({
    id: run,
    gym,
    class: 'spin',
    occurrenceStart: startedAt,
    scheduledStart: startedAt,
    scheduledEnd: startedAt + 3_600_000,
    state: 'running',
    startedAt,
    startedBy: 'bench',
  });
  let binding = 0;
  for (const [i, { athlete, sensors }] of athletes.entries()) {
    const booking = { id: `booking-${i}`, gym, class: 'spin', occurrence: run, start: startedAt, user: athlete, status: 'booked' as const, active: true, position: 0 };
    await domain.documents.collection(BOOKINGS).insert({ ...booking, bookedBy: athlete, createdAt: startedAt });
    for (const sensor of sensors) {
      await domain.documents.collection(BINDINGS).insert({ id: `binding-${binding++}`, gym, sensor, athlete, active: true, from: startedAt, kind: 'own', createdBy: athlete });
    }
  }
  await domain.pairing.gymChanged(gym);
  return run;
}

/**
 * Opens the run's board stream as a platform service and hands each `tiles` event to `onTiles` with the wall
 * time its chunk was read, once the stream is open; `ended` resolves when the stream ends or `signal` aborts it.
 */
export async function followBoardTiles(
  baseUrl: string,
  run: string,
  signal: AbortSignal,
  onTiles: (arrived: number, snapshot: BoardSnapshot) => void,
): Promise<{ ended: Promise<void> }> {
  const token = await serviceToken(baseUrl);
  const response = await fetch(`${baseUrl}/api/v1/class-runs/${run}/board`, { headers: { authorization: `Bearer ${token}` }, signal });
  if (response.status !== 200) throw new Error(`board stream answered ${response.status}`);
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const arrived = Date.now();
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!block.startsWith('event: tiles\n')) continue;
          onTiles(arrived, JSON.parse(block.slice(block.indexOf('data: ') + 6)) as BoardSnapshot);
        }
      }
    } catch {
      // The stream is aborted at the end.
    }
  })();
  return { ended };
}
