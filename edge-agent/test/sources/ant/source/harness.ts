/**
 * What the ANT source tests share beyond the simulator process (`devices/simulator-process.ts`): the
 * network key the simulated stick is started with, a bounded wait, and the recording sink.
 */

export const TEST_NETWORK_KEY = '0123456789abcdef';

export { until } from '@pulsebridge/runtime';

export { RecordingSink } from '../../recording-sink.ts';
