/**
 * How the gym domain talks to a gym's edge agents about pairing, over MQTT (allowlist-publisher.ts): the
 * allowlist of the gym's paired sensors, the permit-join window, and what agents hear nearby for
 * tap-to-pair. The domain says what changed; the channel reads the allowlist from its source
 * (domain/pairing/allowlist.ts) and publishes it to every agent of the gym, retained.
 */

/** A sensor an agent heard during a discovery window that is not paired in its gym. */
export interface NearbySensor {
  /** Canonical sensor id (protocol canonicalSensorId). */
  sensor: string;
  /** heart_rate, bike, ... as the agent's inventory names it. */
  kind: string;
  /** Signal strength in dBm where the radio reports it; the strongest is the nearest. */
  rssi: number | undefined;
  agent: string;
  /** Hub time (ms) of the report that last named it. */
  seenAt: number;
}

export interface PairingChannel {
  /** The gym's paired sensors changed: its agents get the new allowlist. Returns once it is published. */
  gymChanged(gym: string): Promise<void>;
  /**
   * Asks the gym's agents to report unpaired sensors they hear for `seconds` (tap-to-pair), and to admit any
   * new sensor meanwhile when `permitJoin` is set (the join window an operator opens from the hub).
   */
  openWindow(gym: string, options: { seconds: number; permitJoin: boolean }): Promise<void>;
  /** The unpaired sensors the gym's agents reported since `since` (hub time, ms), strongest first. */
  nearby(gym: string, since: number): NearbySensor[];
}
