/**
 * How a hub stops on SIGTERM, e.g. a replica in a rolling update: readiness goes false at once, the external
 * broker's shared subscription is dropped so new batches go to the other replicas, HTTP keeps answering for
 * `endpointDelayMs` while load balancers notice, then the listener closes, live streams end (clients reconnect
 * elsewhere), what is in flight is stored and acknowledged, and the process exits within `gracePeriodMs`.
 * Kubernetes kills the pod `terminationGracePeriodSeconds` after SIGTERM: set that above gracePeriodMs.
 */
import { Type, type Static } from '@sinclair/typebox';

export const ShutdownConfig = Type.Object(
  {
    gracePeriodMs: Type.Integer({
      minimum: 1_000,
      default: 30_000,
      description:
        'The longest a stop may take; past it the hub exits with status 1 (unacknowledged batches are resent by their agents). ' +
        "Keep it below Kubernetes' terminationGracePeriodSeconds, which SIGKILLs the pod",
    }),
    endpointDelayMs: Type.Integer({
      minimum: 0,
      maximum: 120_000,
      default: 0,
      description:
        'How long HTTP keeps answering after readiness turned false, so a load balancer or Kubernetes Service stops sending requests ' +
        'before the listener closes; about the readiness probe period times its failure threshold behind one, 0 for a single hub',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type ShutdownConfig = Static<typeof ShutdownConfig>;

/** Time a stop needs besides the drain and the endpoint delay: the broker's goodbye, closing the stores. */
const STOP_STEPS_MS = 5_000;

/** The grace period must hold the endpoint delay and the ingest drain, or a clean stop could never finish in time. */
export function shutdownConfigProblems(shutdown: ShutdownConfig, drainTimeoutMs: number, path: string): string[] {
  const needed = shutdown.endpointDelayMs + drainTimeoutMs + STOP_STEPS_MS;
  return shutdown.gracePeriodMs < needed
    ? [`${path}/gracePeriodMs: ${shutdown.gracePeriodMs} ms cannot hold endpointDelayMs + ingest.drainTimeoutMs + ${STOP_STEPS_MS} ms for the other steps (${needed} ms)`]
    : [];
}
