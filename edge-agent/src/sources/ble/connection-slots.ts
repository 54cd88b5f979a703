/**
 * The connection policy of one Bluetooth adapter: at most `maxConnections` links, one connection attempt in
 * flight at a time (controllers refuse or serialise a second LE Create Connection), and the sensors waiting
 * for a slot in arrival order. The adapter owns one; whoever decides which sensor goes where asks it.
 */
export class ConnectionSlots<Link> {
  private readonly maxConnections: number;
  /** Open or opening links by sensor id. */
  private readonly links = new Map<string, Link>();
  /** Sensors waiting for a slot, in arrival order. */
  private readonly queue = new Set<string>();
  /** The sensor whose connection attempt is in flight. */
  private connecting: string | undefined;

  constructor(maxConnections: number) {
    this.maxConnections = maxConnections;
  }

  get linkCount(): number {
    return this.links.size;
  }

  get queuedCount(): number {
    return this.queue.size;
  }

  /** Free places for links and waiting sensors together; 0 or less when the adapter is full or over. */
  get room(): number {
    return this.maxConnections - this.links.size - this.queue.size;
  }

  /** A new attempt may start: none in flight and a link slot free. */
  get readyToConnect(): boolean {
    return this.connecting === undefined && this.links.size < this.maxConnections;
  }

  enqueue(id: string): void {
    this.queue.add(id);
  }

  dequeue(id: string): boolean {
    return this.queue.delete(id);
  }

  /** The waiting sensors, oldest first (a copy: the caller may dequeue while it looks). */
  queued(): string[] {
    return [...this.queue];
  }

  /** Removes and returns the sensor waiting longest. */
  takeFirst(): string | undefined {
    const [first] = this.queue;
    if (first !== undefined) this.queue.delete(first);
    return first;
  }

  /** The attempt for `id` starts: it holds a link slot and the adapter's one attempt. */
  begin(id: string, link: Link): void {
    this.connecting = id;
    this.links.set(id, link);
  }

  /** The link layer of `id` is up: the next attempt may start. False when that attempt was no longer current. */
  connected(id: string): boolean {
    if (this.connecting !== id) return false;
    this.connecting = undefined;
    return true;
  }

  /** `id` gives back its slot (and the attempt, if in flight), unless a newer link of it holds the slot. */
  release(id: string, link: Link): void {
    if (this.links.get(id) === link) this.links.delete(id);
    if (this.connecting === id) this.connecting = undefined;
  }

  /** Everything dropped at once: the adapter went down, reset, or the source stopped. */
  clear(): void {
    this.links.clear();
    this.queue.clear();
    this.connecting = undefined;
  }
}
