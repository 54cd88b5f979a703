/**
 * The devices a BLE source has heard lately, at a fixed capacity: the least recently heard one is forgotten
 * when a new one arrives at capacity. A gym hears phones, watches and beacons that rotate random addresses
 * every few minutes, and a hostile neighbour can forge thousands of addresses a second; memory must not
 * follow them.
 *
 * A Map keeps insertion order, so moving an entry to the end on every hit makes the first key the least
 * recently used: O(1) per advert.
 */

export interface SeenDevice {
  id: string;
  address: string;
  /** noble's id of the device (the address without colons on Linux). */
  peripheralId: string;
  /** Bit per adapter index that has heard it: those adapters' noble instances hold objects for it. */
  adapters: number;
  /** Whether it was counted as ignored (not admitted or offering nothing); counted once per memory. */
  ignored: boolean;
}

export class SeenDevices {
  readonly capacity: number;
  private readonly devices = new Map<string, SeenDevice>();
  private readonly onForget: (device: SeenDevice) => void;
  evicted = 0;

  constructor(capacity: number, onForget: (device: SeenDevice) => void) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`seen-device capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.onForget = onForget;
  }

  get size(): number {
    return this.devices.size;
  }

  /** The record of `id`, now the most recently heard; created (evicting the oldest at capacity) if new. */
  touch(id: string, address: string, peripheralId: string, adapterIndex: number): SeenDevice {
    let device = this.devices.get(id);
    if (device) {
      this.devices.delete(id);
    } else {
      if (this.devices.size >= this.capacity) this.evictOldest();
      device = { id, address, peripheralId, adapters: 0, ignored: false };
    }
    device.adapters |= 1 << adapterIndex;
    this.devices.set(id, device);
    return device;
  }

  get(id: string): SeenDevice | undefined {
    return this.devices.get(id);
  }

  /** Forgets every record without calling `onForget` (their noble instances are gone). */
  clear(): void {
    this.devices.clear();
  }

  private evictOldest(): void {
    const oldest = this.devices.keys().next();
    if (oldest.done) return;
    const device = this.devices.get(oldest.value);
    this.devices.delete(oldest.value);
    this.evicted++;
    if (device) this.onForget(device);
  }
}
