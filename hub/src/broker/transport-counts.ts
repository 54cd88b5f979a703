/** What every transport counts, kept once as plain numbers and read by Prometheus at scrape time. */
import type { Registry } from 'prom-client';
import { registerScraped } from '@pulsebridge/runtime';

export class TransportCounts {
  /** Agent messages handed to the hub, by kind. */
  readonly messages: Record<string, number> = {};
  handlerErrors = 0;
  /** Messages the hub sent to agents, by kind. */
  readonly hubPublishes: Record<string, number> = {};

  message(kind: string): void {
    this.messages[kind] = (this.messages[kind] ?? 0) + 1;
  }

  hubPublish(kind: string): void {
    this.hubPublishes[kind] = (this.hubPublishes[kind] ?? 0) + 1;
  }

  register(registry: Registry): void {
    registerScraped(registry, [
      { name: 'pb_hub_broker_messages_total', help: 'Agent messages handed to the hub, by kind', kind: 'counter', label: 'kind', read: () => this.messages },
      { name: 'pb_hub_broker_handler_errors_total', help: 'Agent messages whose handler threw', kind: 'counter', read: () => this.handlerErrors },
      { name: 'pb_hub_broker_hub_publishes_total', help: 'Messages the hub sent to agents, by kind', kind: 'counter', label: 'kind', read: () => this.hubPublishes },
    ]);
  }
}
