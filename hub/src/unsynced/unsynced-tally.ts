/**
 * How many readings the store holds apart per agent (readings of an unconfirmed clock, see
 * storage/series/unsynced.ts), kept as plain numbers so that /metrics and the agent list read them without
 * asking the store: they keep answering while the store is slow or down. Re-read from the store whenever
 * something changed it (ingest stored such readings, an operator corrected or discarded a boot).
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registerScraped } from '@pulsebridge/runtime';
import type { UnsyncedReadingsStore } from '../storage/series/unsynced.ts';

/** Which boots of unconfirmed clock an agent has held apart, as ingest asks before storing more. */
export interface UnsyncedBootsHeld {
  /** True if the agent may store readings of this boot: it is held already, or fewer than `limit` are. */
  admit(agent: string, boot: string, limit: number): boolean;
}

export class UnsyncedTally implements UnsyncedBootsHeld {
  private readonly store: Pick<UnsyncedReadingsStore, 'listUnsynced'>;
  private readonly log: Logger;
  private byAgent = new Map<string, number>();
  /** Boots held per agent, as last read, plus those admitted since (so a burst of new boots cannot pass the limit). */
  private bootsByAgent = new Map<string, Set<string>>();
  private held = 0;
  private reading: Promise<void> | undefined;
  /** A change happened while a read was under way: that read may have missed it. */
  private stale = false;

  constructor(options: { store: Pick<UnsyncedReadingsStore, 'listUnsynced'>; log: Logger }) {
    this.store = options.store;
    this.log = options.log.child({ ns: 'unsynced' });
  }

  /** Readings held apart, every agent together. */
  get total(): number {
    return this.held;
  }

  of(agent: string): number {
    return this.byAgent.get(agent) ?? 0;
  }

  admit(agent: string, boot: string, limit: number): boolean {
    let boots = this.bootsByAgent.get(agent);
    if (boots?.has(boot)) return true;
    if ((boots?.size ?? 0) >= limit) return false;
    if (!boots) {
      boots = new Set();
      this.bootsByAgent.set(agent, boots);
    }
    boots.add(boot);
    return true;
  }

  /**
   * Re-reads the counts; resolves after a read that started after this call. Calls during a read share one
   * more read. Never rejects: a failed read keeps the last counts and is logged.
   */
  refresh(): Promise<void> {
    if (this.reading) {
      this.stale = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.stale = false;
        try {
          const byAgent = new Map<string, number>();
          const bootsByAgent = new Map<string, Set<string>>();
          for (const boot of await this.store.listUnsynced({})) {
            byAgent.set(boot.agent, (byAgent.get(boot.agent) ?? 0) + boot.readings);
            bootsByAgent.set(boot.agent, (bootsByAgent.get(boot.agent) ?? new Set()).add(boot.boot));
          }
          this.byAgent = byAgent;
          this.bootsByAgent = bootsByAgent;
          this.held = [...byAgent.values()].reduce((sum, n) => sum + n, 0);
        } catch (err) {
          this.log.warn({ err }, 'could not count the unsynced readings held; the counts shown may be stale');
        }
      } while (this.stale);
    })().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  register(registry: Registry): void {
    registerScraped(registry, [
      {
        name: 'pb_hub_unsynced_readings',
        help: "Readings held apart from the series because their boot's clock was never confirmed, until corrected or discarded",
        kind: 'gauge',
        read: () => this.held,
      },
    ]);
  }
}
