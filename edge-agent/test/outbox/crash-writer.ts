/**
 * Child process for crash.test.ts: appends numbered readings without pause and prints every committed
 * chunk as a JSON line, until it is killed. Reading k carries sensor s<k % 7>, time t0 + 10 k, value k % 250.
 * Usage: crash-writer.ts <database path> <t0>
 */
import pino from 'pino';
import { Clock } from '../../src/clock/clock.ts';
import { Outbox } from '../../src/outbox/outbox.ts';

const [path, t0Text] = process.argv.slice(2);
const t0 = Number(t0Text);
if (!path || !Number.isSafeInteger(t0)) throw new Error('usage: crash-writer.ts <database path> <t0>');
const log = pino({ level: 'silent' });
const outbox = new Outbox({ path, clock: new Clock({ log }), log, flushIntervalMs: 20, maxChunkReadings: 500 });
outbox.on('flushed', (chunk) => process.stdout.write(`${JSON.stringify(chunk)}\n`));
outbox.start();
let k = 0;
setInterval(() => {
  for (let i = 0; i < 50; i++, k++) outbox.append({ sensor: `s${k % 7}`, metric: 'heart_rate', ts: t0 + 10 * k, value: k % 250 });
}, 2);
