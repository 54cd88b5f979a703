/**
 * What the hub says about pairing in the agent's gym, shared by every radio source's admission: the gym's
 * allowlist (the `pairing` message: paired sensors, versioned) and the window the hub opens with a `window`
 * command (permit-join, and discovery: unpaired sensors heard are collected for `nearby` reports).
 *
 * A source's Admission asks it besides its configured `allow` list, which stays an override (always
 * admitted). Applying a list takes effect at the next message of every sensor: nothing restarts.
 * Persistence of the applied list (for offline starts) is pairing-file.ts; the agent wires both.
 */
import { MAX_NEARBY_SENSORS, canonicalSensorId, type NearbySensorReport } from '@pulsebridge/protocol';

/** An allowlist from the hub, as the `pairing` message carries it. */
export interface HubAllowlist {
  version: number;
  allow: readonly string[];
  updatedAt: number;
}

/**
 * Distinct unpaired sensors remembered during one discovery window: a crowded venue (or forged adverts)
 * must not grow it without bound; reports send the strongest MAX_NEARBY_SENSORS of them.
 */
export const MAX_HEARD_SENSORS = 1_024;

interface Heard {
  kind: string;
  rssi: number | undefined;
}

export class PairingState {
  private readonly now: () => number;
  private ids = new Set<string>();
  private applied: HubAllowlist | undefined;
  /** Increases with every list applied: admissions forget the sensors they joined when it moves. */
  private listGeneration = 0;
  private windowUntil = 0;
  private windowPermitsJoin = false;
  private windowDiscovers = false;
  private readonly heardSensors = new Map<string, Heard>();

  constructor(options: { now: () => number }) {
    this.now = options.now;
  }

  /** The version of the list applied; undefined before any. */
  get version(): number | undefined {
    return this.applied?.version;
  }

  get size(): number {
    return this.ids.size;
  }

  get generation(): number {
    return this.listGeneration;
  }

  /** The applied list, as persisted. */
  get list(): HubAllowlist | undefined {
    return this.applied;
  }

  /** Paired in the gym by the hub's list. */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  sensors(): ReadonlySet<string> {
    return this.ids;
  }

  /**
   * Applies a list unless it is not newer than the one applied (a retained copy delivered again, or one
   * overtaken by a later change). Ids are written in the canonical form; ids that are not sensor ids are
   * skipped. Returns whether the list was applied.
   */
  apply(list: HubAllowlist): boolean {
    if (this.applied !== undefined && list.version <= this.applied.version) return false;
    const ids = new Set<string>();
    for (const text of list.allow) {
      const id = canonicalSensorId(text);
      if (id !== undefined) ids.add(id);
    }
    this.ids = ids;
    this.applied = { version: list.version, allow: [...ids].sort(), updatedAt: list.updatedAt };
    this.listGeneration++;
    return true;
  }

  /** The hub's window, until `until` (UTC ms on the agent's clock, which follows the hub's); a past time closes it. */
  openWindow(window: { until: number; permitJoin: boolean; discover: boolean }): void {
    this.windowUntil = window.until;
    this.windowPermitsJoin = window.permitJoin;
    this.windowDiscovers = window.discover;
    this.heardSensors.clear();
  }

  get windowOpen(): boolean {
    return this.now() < this.windowUntil;
  }

  /** The hub's join window is open: any new sensor heard is admitted. */
  get joinOpen(): boolean {
    return this.windowPermitsJoin && this.windowOpen;
  }

  get discovering(): boolean {
    return this.windowDiscovers && this.windowOpen;
  }

  /** A sensor heard that is not admitted: remembered (with its strongest signal) while discovering. */
  heard(id: string, kind: string, rssi: number | undefined): void {
    if (!this.discovering) return;
    const known = this.heardSensors.get(id);
    if (known) {
      if (rssi !== undefined && (known.rssi === undefined || rssi > known.rssi)) known.rssi = rssi;
      return;
    }
    if (this.heardSensors.size >= MAX_HEARD_SENSORS) return;
    this.heardSensors.set(id, { kind, rssi });
  }

  /** The sensors heard in this window and still not paired, strongest first, at most MAX_NEARBY_SENSORS. */
  nearby(): NearbySensorReport[] {
    const out: NearbySensorReport[] = [];
    for (const [id, heard] of this.heardSensors) {
      if (this.ids.has(id)) continue;
      const report: NearbySensorReport = { id, kind: heard.kind.slice(0, 32) };
      if (heard.rssi !== undefined) report.rssi = Math.max(-127, Math.min(20, Math.round(heard.rssi)));
      out.push(report);
    }
    return out.sort((a, b) => (b.rssi ?? -128) - (a.rssi ?? -128)).slice(0, MAX_NEARBY_SENSORS);
  }
}
