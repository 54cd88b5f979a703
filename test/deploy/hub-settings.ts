/** Whether the hub's own config loader accepts the settings a deployment file gives it (a YAML file and PB_HUB_* variables). */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError } from '@pulsebridge/runtime';
import { loadHubConfig, type HubConfig } from '../../hub/src/config.ts';

/** The agent's own stop timeout (STOP_TIMEOUT_MS in its main.ts), read from the source: importing it would load the whole app. The hub's is its configured shutdown.gracePeriodMs. */
export const stopTimeoutMs = (root: string, app: 'edge-agent'): number =>
  Number(/^export const STOP_TIMEOUT_MS = ([\d_]+);/m.exec(readFileSync(join(root, app, 'src/main.ts'), 'utf8'))![1]!.replaceAll('_', ''));

export interface HubSettings {
  /** The configuration file's content, if the deployment gives one. */
  file?: Record<string, unknown>;
  /** The variables the hub process sees (PB_HUB_* and the ones secrets refer to). */
  env: Record<string, string>;
}

export function load(settings: HubSettings): { config?: HubConfig; problems: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'pb-settings-'));
  try {
    const file = settings.file === undefined ? undefined : join(dir, 'hub.yaml');
    if (file) writeFileSync(file, stringify(settings.file));
    return { config: loadHubConfig({ file, env: settings.env }), problems: [] };
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems };
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The loader's view of the settings: must be free of problems. */
export function loadAccepted(settings: HubSettings): HubConfig {
  const result = load(settings);
  assert.deepEqual(result.problems, []);
  return result.config!;
}
