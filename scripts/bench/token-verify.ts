/**
 * Access-token verifications per second on one core: the whole AccessTokenVerifier.verify(), the signature and
 * claim checks and the principal with its memberships (cache warm, as in the steady state), for the hub's own
 * RFC 9068 tokens. Two JSON lines per algorithm (DESIGN §9): `access_token_verify_per_s`, every token checked in
 * full (signature included), and `access_token_verify_repeat_per_s`, tokens seen before (the verifier remembers
 * verified tokens for 60 s, re-checking expiry). `limit` is fast-jwt's verifier alone (what the hub's own tokens
 * go through) with the same key and checks; `joseCpuValue` is jose's jwtVerify alone (what federated tokens go
 * through), per CPU-second. The target of TARGETS.md is 20 000/s.
 *
 *   node --import tsx scripts/bench/token-verify.ts [--tokens 20000] [--runs 5] [--users 100] [--concurrency 32]
 *
 * `--concurrency` verifications are in flight at once, as for concurrent requests: jose's WebCrypto does the
 * signature check off the main thread, so one at a time would measure its round trip, not the work. The one-core
 * figure is `cpuValue`, verifications per second of the process's CPU time (main thread and thread pool);
 * `value` is by the wall clock.
 */
import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createVerifier } from 'fast-jwt';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { AccessTokenVerifier, hubApiAudience, hubTokenIssuer } from '../../hub/src/auth/access-tokens.ts';
import { SqliteIdentityStore } from '../../hub/src/identity/sqlite-identity-store.ts';
import { median, printRate, timedRateAsync, withTempDir, type Rate } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    tokens: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '5' },
    users: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '32' },
  },
});
const TOKENS = Math.max(1, Number(args.tokens));
const RUNS = Math.max(1, Number(args.runs));
const USERS = Math.max(1, Number(args.users));
const CONCURRENCY = Math.max(1, Number(args.concurrency));

/** `count` calls of `work`, CONCURRENCY at a time, as a server verifies the tokens of concurrent requests. */
async function concurrently(count: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}
const BASE = 'https://hub.example.com';
const ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;

await withTempDir('token-verify', async (dir) => {
  const store = new SqliteIdentityStore({ path: join(dir, 'identity.db') });
  await store.start();
  try {
    const userIds: string[] = [];
    for (let i = 0; i < USERS; i++) {
      const user = await store.createUser({ email: `user${i}@example.com`, displayName: `User ${i}` });
      await store.addMembership({ userId: user.id, gym: `gym-${i % 10}`, role: 'athlete' });
      userIds.push(user.id);
    }
    for (const alg of ALGORITHMS) {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: `k-${alg}`, alg, use: 'sig' }] };
      const accountStore = store;
      // First sight: every verification checks the signature (the verified-token memory is off).
      const verifier = new AccessTokenVerifier({ identityIssuer: BASE, localJwks: async () => jwks, trustedIssuers: [], store: accountStore, verifiedTokenTtlMs: 0 });
      // Repeat: a token comes back with the client's next request (the default 60 s memory).
      const remembering = new AccessTokenVerifier({ identityIssuer: BASE, localJwks: async () => jwks, trustedIssuers: [], store: accountStore });
      const now = Math.floor(Date.now() / 1000);
      const tokens = await Promise.all(
        userIds.map((sub, i) =>
          new SignJWT({
            iss: hubTokenIssuer(BASE),
            aud: hubApiAudience(BASE),
            sub,
            client_id: 'mobile',
            scope: 'agents:read readings:read',
            jti: `t${i}`,
            iat: now,
            exp: now + 3600,
          })
            .setProtectedHeader({ alg, kid: `k-${alg}`, typ: 'at+jwt' })
            .sign(privateKey),
        ),
      );
      for (const token of tokens) await Promise.all([verifier.verify(token), remembering.verify(token)]); // warm: keys imported, every account cached

      const bareVerify = createVerifier({
        key: createPublicKey({ key: jwks.keys[0]!, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string,
        algorithms: [alg],
        allowedIss: hubTokenIssuer(BASE),
        allowedAud: hubApiAudience(BASE),
        checkTyp: 'at+jwt',
        clockTolerance: 30_000,
      });
      const joseKeys = createLocalJWKSet(jwks);
      const joseOptions = { issuer: hubTokenIssuer(BASE), audience: hubApiAudience(BASE), algorithms: [alg], typ: 'at+jwt', clockTolerance: 30 };
      const ours: Rate[] = [];
      const repeat: Rate[] = [];
      const bare: Rate[] = [];
      const jose: Rate[] = [];
      for (let run = 0; run < RUNS; run++) {
        ours.push(
          await timedRateAsync(TOKENS, async () => {
            await concurrently(TOKENS, (i) => verifier.verify(tokens[i % tokens.length]!));
          }),
        );
        repeat.push(
          await timedRateAsync(TOKENS, async () => {
            await concurrently(TOKENS, (i) => remembering.verify(tokens[i % tokens.length]!));
          }),
        );
        bare.push(
          await timedRateAsync(TOKENS, async () => {
            await concurrently(TOKENS, async (i) => bareVerify(tokens[i % tokens.length]!));
          }),
        );
        jose.push(
          await timedRateAsync(TOKENS, async () => {
            await concurrently(TOKENS, (i) => jwtVerify(tokens[i % tokens.length]!, joseKeys, joseOptions));
          }),
        );
      }
      const joseCpuValue = Math.round(median(jose.map((r) => r.cpu)));
      const details = { alg, target: 20_000, joseCpuValue, concurrency: CONCURRENCY, users: USERS, tokens: TOKENS, runs: RUNS };
      printRate('access_token_verify_per_s', 'tokens/s', ours, bare, details);
      printRate('access_token_verify_repeat_per_s', 'tokens/s', repeat, bare, details);
    }
  } finally {
    await store.stop();
  }
});
