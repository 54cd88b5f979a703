/**
 * What the token tests share: real keys made with jose, a token minter, a real SQLite identity store, and a
 * small federated issuer (discovery + JWKS) on a loopback port whose keys a test can rotate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { TrustedIssuer } from '../../src/auth/config.ts';
import assert from 'node:assert/strict';
import { TokenRefused, type AccountStore, type TokenRefusedReason } from '../../src/auth/access-tokens.ts';
import { SqliteIdentityStore } from '../../src/identity/sqlite-identity-store.ts';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(kid: string, alg = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

export interface MintOptions {
  key: TestKey;
  claims: JWTPayload & Record<string, unknown>;
  /** Header fields on top of alg and kid; `typ: undefined` leaves the type out. */
  header?: Record<string, unknown>;
}

/** A signed JWT; exp defaults to five minutes from now, iat to now. */
export async function mint({ key, claims, header = { typ: 'at+jwt' } }: MintOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const protectedHeader = { alg: key.alg, kid: key.kid, ...header };
  return new SignJWT({ iat: now, exp: now + 300, ...claims }).setProtectedHeader(protectedHeader).sign(key.privateKey);
}

export function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A started SQLite identity store in a temporary folder. */
export async function makeStore(): Promise<{ sqlite: SqliteIdentityStore; store: AccountStore; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-auth-'));
  const sqlite = new SqliteIdentityStore({ path: join(dir, 'identity.db') });
  await sqlite.start();
  return {
    sqlite,
    store: sqlite,
    async cleanup() {
      await sqlite.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A trusted-issuer entry with the schema's defaults filled in. */
export function trustedIssuer(entry: Record<string, unknown>): TrustedIssuer {
  const value = Value.Default(TrustedIssuer, structuredClone(entry));
  if (!Value.Check(TrustedIssuer, value)) throw new Error(`bad test issuer: ${JSON.stringify([...Value.Errors(TrustedIssuer, value)].map((e) => e.path + ' ' + e.message))}`);
  return value;
}

/** An OpenID issuer on 127.0.0.1 that serves its discovery document and the JWKS of `keys` (replace them to rotate). */
export class FakeIssuer {
  keys: TestKey[] = [];
  jwksRequests = 0;
  discoveryRequests = 0;
  /** The `issuer` its discovery document names; tests change it to a lie. */
  advertisedIssuer: string | undefined;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        this.discoveryRequests++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: this.advertisedIssuer ?? this.url, jwks_uri: `${this.url}/jwks` }));
      } else if (req.url === '/jwks') {
        this.jwksRequests++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: this.keys.map((k) => k.publicJwk) }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Fails unless `promise` rejects with TokenRefused for `reason`. */
export async function refusedWith(promise: Promise<unknown>, reason: TokenRefusedReason): Promise<void> {
  const err = await promise.then(
    () => assert.fail(`expected the token to be refused (${reason})`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TokenRefused, `expected TokenRefused, got ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
}
