/**
 * The hub-memory benchmark, run small: it starts its hub, connects its agents, prints one figure line in the
 * benches' format with the target beside it, and stops by itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runStep, type BenchOutput } from '../../scripts/bench/all.ts';

test('the hub memory benchmark prints one kB/agent figure with its 50 kB target and every agent connected', { timeout: 120_000 }, async () => {
  const figures: string[] = [];
  let others = '';
  const output: BenchOutput = { figure: (line) => void figures.push(line), other: (text) => void (others += text) };
  assert.equal(await runStep(['scripts/bench/hub-memory-per-agent.ts', '--agents', '30', '--warmup', '3'], output), 0, others);
  assert.equal(figures.length, 1, others);
  const figure = JSON.parse(figures[0] ?? '{}') as { name: string; value: number; unit: string; target: number; agents: number; stillConnected: number; heapPerAgentKb: number };
  assert.equal(figure.name, 'hub_memory_per_agent');
  assert.equal(figure.unit, 'kB/agent');
  assert.equal(figure.target, 50);
  assert.equal(figure.agents, 30);
  assert.equal(figure.stillConnected, 30);
  assert.ok(Number.isFinite(figure.value) && Number.isFinite(figure.heapPerAgentKb), figures[0]);
});
