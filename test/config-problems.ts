/**
 * What the configuration tests of every package ask: which problems does loading this configuration report?
 */
import assert from 'node:assert/strict';
import { ConfigError } from '@pulsebridge/runtime';

/** The problems of the ConfigError `load` throws; [] when it loads. Any other error fails the test. */
export function configProblems(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  return [];
}
