/**
 * Which sensors a radio source listens to: the configured allowlist (an override: always admitted), the
 * hub's list of the sensors paired in the gym (pairing-state.ts, shared by every source and replaced
 * without a restart), and a time-limited permit-join window, opened at start by configuration or by the
 * hub, that admits any new sensor heard while it is open. Joined sensors stay admitted until the hub sends
 * a new list (which names them once they are paired); the source reports them in its inventory.
 *
 * The sensor book's inner part (sensor-book.ts `admit`, `permitJoin`): every radio source admits through
 * the book, so all follow the same pairing rules. Kept in its own file to keep the book readable.
 */
import { Type, type TArray, type TInteger, type TString } from '@sinclair/typebox';
import { canonicalSensorId } from '@pulsebridge/protocol';
import type { Logger } from 'pino';
import type { PairingState } from './pairing-state.ts';

/**
 * The admission fields of a radio source's configuration section (ANT, BLE): the allowlist and the join
 * window opened at start. `idForm` shows how the source's sensor ids are written.
 */
export function admissionConfigFields(sensorIdPattern: string, idForm: string): { allow: TArray<TString>; permitJoinSeconds: TInteger } {
  return {
    allow: Type.Array(Type.String({ pattern: sensorIdPattern }), {
      default: [],
      maxItems: 4096,
      description: `sensor ids (${idForm}) admitted at any time, besides those the hub pairs in the gym: an override`,
    }),
    permitJoinSeconds: Type.Integer({ minimum: 0, maximum: 86_400, default: 0, description: 'admit any new sensor for this long after start' }),
  };
}

export interface AdmissionOptions {
  /** The configured allowlist, in any accepted spelling (canonicalSensorId). */
  allow: Iterable<string>;
  /** The hub's list and window; absent, only `allow` and the source's own window count. */
  pairing?: PairingState | undefined;
  now: () => number;
  log: Logger;
  /** Names the radio in log lines, e.g. 'ANT' or 'BLE'. */
  radio: string;
  /**
   * Most sensors one join window may admit in total. A window opened in a crowded place (or during a flood
   * of forged adverts) must not grow the joined set, and with it the inventory, without bound.
   */
  maxJoined?: number;
}

export interface AdmissionStats {
  allowed: number;
  joined: number;
  /** Sensors heard during an open window that were not joined because `maxJoined` was reached. */
  joinRefused: number;
}

export const DEFAULT_MAX_JOINED = 1024;

export class Admission {
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly radio: string;
  private readonly maxJoined: number;
  private readonly allowedIds: Set<string>;
  private readonly pairing: PairingState | undefined;
  private readonly joinedIds = new Set<string>();
  /** The hub list's generation the joined set belongs to. */
  private joinedGeneration: number;
  private joinUntil = 0;
  private joinRefused = 0;
  private refusalLogged = false;

  constructor(options: AdmissionOptions) {
    this.now = options.now;
    this.log = options.log;
    this.radio = options.radio;
    this.maxJoined = options.maxJoined ?? DEFAULT_MAX_JOINED;
    this.allowedIds = new Set([...options.allow].map((id) => canonicalSensorId(id) ?? id));
    this.pairing = options.pairing;
    this.joinedGeneration = options.pairing?.generation ?? 0;
  }

  /** The configured ids and the hub's: every sensor admitted without a join window. */
  get allowed(): ReadonlySet<string> {
    if (!this.pairing || this.pairing.size === 0) return this.allowedIds;
    return new Set([...this.allowedIds, ...this.pairing.sensors()]);
  }

  get joined(): ReadonlySet<string> {
    this.forgetJoinedOnNewList();
    return this.joinedIds;
  }

  /** The source's own window or the hub's. */
  get joinOpen(): boolean {
    return this.now() < this.joinUntil || (this.pairing?.joinOpen ?? false);
  }

  /**
   * Admits every new sensor heard in the next `seconds`; 0 closes the window. Returns false (and changes
   * nothing) for a value that is not a non-negative number.
   */
  permitJoin(seconds: number): boolean {
    if (!Number.isFinite(seconds) || seconds < 0) {
      this.log.warn({ seconds }, 'permitJoin ignored: seconds must be a non-negative number');
      return false;
    }
    this.joinUntil = this.now() + seconds * 1000;
    this.refusalLogged = false;
    this.log.info({ seconds }, seconds > 0 ? `${this.radio} permit-join window open` : `${this.radio} permit-join window closed`);
    return true;
  }

  /** Allowed (by configuration or the hub) or already joined; never joins. */
  knows(id: string): boolean {
    if (this.allowedIds.has(id) || this.pairing?.has(id)) return true;
    this.forgetJoinedOnNewList();
    return this.joinedIds.has(id);
  }

  /** Allowed or joined, or joins it now when the window is open and the joined set has room. */
  isAdmitted(id: string): boolean {
    if (this.knows(id)) return true;
    if (!this.joinOpen) return false;
    if (this.joinedIds.size >= this.maxJoined) {
      this.joinRefused++;
      if (!this.refusalLogged) {
        this.refusalLogged = true;
        this.log.warn({ maxJoined: this.maxJoined, sensor: id }, `${this.radio} permit-join: joined sensors at their limit; no more are admitted`);
      }
      return false;
    }
    this.joinedIds.add(id);
    this.log.info({ sensor: id }, `${this.radio} sensor joined`);
    return true;
  }

  stats(): AdmissionStats {
    return { allowed: this.allowed.size, joined: this.joined.size, joinRefused: this.joinRefused };
  }

  /**
   * A new list from the hub is the gym's word on what is paired: a sensor joined through a window and
   * not on it is no longer admitted (it joins again while a window is open).
   */
  private forgetJoinedOnNewList(): void {
    if (!this.pairing || this.pairing.generation === this.joinedGeneration) return;
    this.joinedGeneration = this.pairing.generation;
    if (this.joinedIds.size === 0) return;
    for (const id of this.joinedIds) if (!this.pairing.has(id)) this.joinedIds.delete(id);
    this.log.info({ joined: this.joinedIds.size }, `${this.radio} new pairing list; joined sensors not on it are no longer admitted`);
  }
}
