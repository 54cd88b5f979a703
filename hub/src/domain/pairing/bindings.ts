/**
 * Bindings of sensors to athletes, kept as history: a binding is never deleted, it ends by turning inactive
 * with its `until` set. Results attribute a reading, late ones included, by the binding valid at
 * the reading's time (bindingAt).
 */
import { DocumentStoreError, pageAfter, type DocumentOf, type DocumentStore } from '../../documents/document-store.ts';
import type { Domain } from '../domain.ts';
import { BINDINGS } from './collections.ts';

export type Binding = DocumentOf<typeof BINDINGS.schema>;

const HISTORY_PAGE = 100;

/** Whether readings at hub time `t` belong to the binding's athlete: from <= t < until (or no until yet). */
export function bindingCovers(binding: Binding, t: number): boolean {
  return binding.from <= t && (binding.until === undefined || t < binding.until);
}

/**
 * The binding of `sensor` in `gym` valid at hub time `t`, or undefined when the sensor was nobody's then.
 * Should histories overlap (a loan whose `until` was later cut short, documents written by hand), the binding
 * that began last wins: it is the one made knowing about the other.
 */
export async function bindingAt(documents: DocumentStore, gym: string, sensor: string, t: number): Promise<Binding | undefined> {
  const bindings = documents.collection(BINDINGS);
  let after: ReturnType<typeof pageAfter> | undefined;
  for (;;) {
    const page = await bindings.find({ gym, sensor, from: { lte: t } }, { orderBy: ['from'], descending: true, limit: HISTORY_PAGE, ...(after ? { after } : {}) });
    const valid = page.find((binding) => bindingCovers(binding, t));
    if (valid !== undefined) return valid;
    if (page.length < HISTORY_PAGE) return undefined;
    after = pageAfter(page.at(-1)!, ['from']);
  }
}

/**
 * Whether `error`, thrown by inserting a binding, is the clash of a second active binding of one sensor in one
 * gym. Binding ids are random, so one_active is the only unique value a new binding can clash on; the index
 * name is not relied on, so that an adapter that cannot tell it still gets the right answer.
 */
export function isTakenSensor(error: unknown): boolean {
  return error instanceof DocumentStoreError && error.code === 'conflict';
}

/**
 * Tells the gym's agents that its paired sensors changed. The change is stored already: a failed publish is
 * logged, not answered as the request's failure: the next publish of the gym's allowlist carries it.
 */
export async function announceChange(domain: Pick<Domain, 'pairing' | 'log'>, gym: string): Promise<void> {
  try {
    await domain.pairing.gymChanged(gym);
  } catch (error) {
    domain.log.warn({ err: error, gym }, 'publishing the allowlist failed');
  }
}

/**
 * Ends the loans whose `until` has passed (a loaner strap is lent for one class and given back by itself) and
 * republishes the allowlists of their gyms. Called before reads that show bindings and allowlists, and from a
 * timer (hub.ts), so that an agent stops admitting the strap even when nobody asks. Returns how many ended.
 * Their `until` stays the planned end: that is when the loan ended.
 */
export async function endExpiredLoans(domain: Pick<Domain, 'documents' | 'pairing' | 'now' | 'log'>): Promise<number> {
  const bindings = domain.documents.collection(BINDINGS);
  const expired = await bindings.find({ active: true, until: { lte: domain.now() } });
  const gyms = new Set<string>();
  let ended = 0;
  for (const binding of expired) {
    // Guarded by `active`, so that replicas sweeping at once end each loan once.
    if ((await bindings.update({ id: binding.id, active: true }, { set: { active: false } })) > 0) {
      ended++;
      gyms.add(binding.gym);
    }
  }
  for (const gym of gyms) await announceChange(domain, gym);
  return ended;
}

/**
 * Fits the loans of a class to its run once the run ended, before its sessions are computed from the bindings.
 * A loan is lent until the scheduled end (the coach page does so); a class ended early gives the strap back at
 * once, and a class that ran over keeps the strap with its athlete until the real end, unless the strap was
 * lent or paired again since (then up to that binding). Loans of other occurrences of the class are untouched.
 * Loaners are gym sensors, which the gym's agents admit whoever wears them, so the allowlist does not change.
 */
export async function fitClassLoans(documents: DocumentStore, run: { gym: string; class: string; startedAt: number; endedAt: number }): Promise<number> {
  const bindings = documents.collection(BINDINGS);
  let changed = 0;
  for (const loan of await bindings.find({ gym: run.gym, kind: 'loaner', classId: run.class })) {
    const until = loan.until ?? Number.POSITIVE_INFINITY;
    if (loan.from >= run.endedAt || until < run.startedAt || until === run.endedAt) continue;
    let fitted = run.endedAt;
    if (until < run.endedAt) {
      const [next] = await bindings.find({ gym: run.gym, sensor: loan.sensor, from: { gt: loan.from } }, { orderBy: ['from'], limit: 1 });
      if (next !== undefined) fitted = Math.min(fitted, next.from);
      if (fitted <= until) continue;
    }
    // Guarded by the `until` read, so a loan changed meanwhile (by hand, or another replica) is left as it is.
    changed += await bindings.update({ id: loan.id, ...(loan.until === undefined ? {} : { until: loan.until }) }, { set: { until: fitted, active: false } });
  }
  return changed;
}

/**
 * Runs endExpiredLoans every `intervalMs` (hub.ts starts it; the returned function stops it). A failed sweep is
 * logged and the next one tries again; a sweep still running is not overlapped.
 */
export function sweepExpiredLoans(domain: Pick<Domain, 'documents' | 'pairing' | 'now' | 'log'>, intervalMs: number): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    endExpiredLoans(domain)
      .catch((error: unknown) => domain.log.warn({ err: error }, 'ending expired loans failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
