/**
 * argon2id at the hub's documented password parameters: milliseconds per hash and per verification, as JSON
 * lines (DESIGN §9). A sign-in pays one verification (plus one hash when it upgrades an old one), inside the
 * 300 ms p99 sign-in target of TARGETS.md.
 *
 *   node --import tsx scripts/bench/passwords.ts [--runs 21]
 *
 * Sequential calls, one at a time, as one sign-in sees them; the median and the slowest of `--runs`.
 */
import { parseArgs } from 'node:util';
import { PASSWORD_PARAMS, hashPassword, verifyPassword } from '../../hub/src/identity/passwords.ts';
import { median, printFigure } from './figures.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '21' } } });
const RUNS = Math.max(1, Number(args.runs));
const PASSWORD = 'correct horse battery staple';
const params = { m: PASSWORD_PARAMS.memoryCost, t: PASSWORD_PARAMS.timeCost, p: PASSWORD_PARAMS.parallelism };

async function timesMs(work: () => Promise<unknown>): Promise<number[]> {
  await work(); // warm-up: the first call loads the binding and touches fresh memory
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = process.hrtime.bigint();
    await work();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}

const round = (ms: number): number => +ms.toFixed(1);

const hashTimes = await timesMs(() => hashPassword(PASSWORD));
printFigure('argon2id_hash_ms', round(median(hashTimes)), 'ms', { ...params, max: round(Math.max(...hashTimes)), runs: RUNS });

const encoded = await hashPassword(PASSWORD);
const verifyTimes = await timesMs(async () => {
  if (!(await verifyPassword(encoded, PASSWORD))) throw new Error('the password did not verify');
});
printFigure('argon2id_verify_ms', round(median(verifyTimes)), 'ms', { ...params, max: round(Math.max(...verifyTimes)), runs: RUNS });
