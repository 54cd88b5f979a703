/**
 * The sign-in round trip of the mobile app, from the first authorize request to tokens, over loopback HTTP:
 * authorize → sign-in form → password (argon2id) → TOTP code → code at the app's redirect → token exchange
 * with the PKCE verifier. A JSON line with p50 and p99 (DESIGN §9); the target is p99 under 300 ms (TARGETS.md).
 *
 *   node --import tsx scripts/bench/sign-in.ts [--runs 50] [--no-totp]
 *
 * The SQLite identity store in a temp folder; one sign-in at a time, each in a fresh browser (no session). The
 * hub's clock moves one TOTP step per sign-in, so every code is new (a code is accepted once per step).
 */
import { parseArgs } from 'node:util';
import * as OTPAuth from 'otpauth';
import { beginTotpEnrolment, confirmTotpEnrolment, TOTP_SETTINGS } from '../../hub/src/identity/second-factor.ts';
import { Browser, MOBILE, MOBILE_REDIRECT, signInForCode, startHarness, token } from '../../hub/test/oidc/harness.ts';
import { printFigure } from './figures.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '50' }, 'no-totp': { type: 'boolean', default: false } } });
const RUNS = Math.max(1, Number(args.runs));
const withTotp = !args['no-totp'];

let clock = Date.now();
const harness = await startHarness({ now: () => clock, ...(withTotp ? {} : { secondFactor: null }) });
let secret = '';
const codeAt = (at: number): string => new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), ...TOTP_SETTINGS }).generate({ timestamp: at });
if (withTotp) {
  secret = (await beginTotpEnrolment(harness.store, harness.user, 'Pulsebridge')).secret;
  if (!(await confirmTotpEnrolment(harness.store, harness.user.id, codeAt(clock), clock))) throw new Error('TOTP enrolment failed');
}

async function signIn(): Promise<void> {
  clock += 30_000;
  const { code, verifier } = await signInForCode(harness, new Browser(harness.base), { noConsent: true, ...(withTotp ? { secondFactorCode: codeAt(clock) } : {}) });
  const tokens = await token(harness.base, { grant_type: 'authorization_code', client_id: MOBILE, code, code_verifier: verifier, redirect_uri: MOBILE_REDIRECT });
  if (tokens.status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(tokens.body)}`);
}

try {
  await signIn(); // warm-up: argon2 binding, first key use, SQLite pages
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = process.hrtime.bigint();
    await signIn();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => +(times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)] ?? 0).toFixed(1);
  printFigure('sign_in_round_trip_p50_ms', at(0.5), 'ms', { p99: at(0.99), max: at(1), runs: RUNS, totp: withTotp, store: 'sqlite', transport: 'loopback http' });
} finally {
  await harness.close();
}
