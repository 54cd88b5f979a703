/**
 * How the agent checks the hub's certificate beyond the CA verification node:tls does: an optional pin of the
 * CA by its SHA-256 fingerprint (hub.tls.caFingerprint, as enrollment hands it out), and telling a refused
 * certificate apart from other connection errors so the log says what to fix.
 */
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/** The code of the error a pinned CA that is not in the hub's chain gives. */
export const CA_PIN_MISMATCH = 'ERR_TLS_CA_FINGERPRINT_MISMATCH';

/** `AB:CD:…` (as `openssl x509 -fingerprint -sha256` prints it) or 64 hex digits, any case. */
export const CA_FINGERPRINT_PATTERN = '^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$';

function normalized(fingerprint: string): string {
  return fingerprint.replace(/:/g, '').toLowerCase();
}

/**
 * A `checkServerIdentity` for node:tls that keeps the host name check and also requires a certificate of
 * the verified chain (the hub's own, an intermediate or the root) to have the pinned fingerprint. Node calls
 * it only once the chain has verified against the trusted CAs, so the pin narrows trust, never widens it.
 */
export function pinnedCaCheck(caFingerprint: string): (host: string, certificate: PeerCertificate) => Error | undefined {
  const pinned = normalized(caFingerprint);
  return (host, certificate) => {
    const hostProblem = checkServerIdentity(host, certificate);
    if (hostProblem) return hostProblem;
    const seen: string[] = [];
    let current: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = certificate;
    // The root's issuerCertificate is itself; `seen` also guards against a loop.
    while (current?.fingerprint256 && !seen.includes(current.fingerprint256)) {
      if (normalized(current.fingerprint256) === pinned) return undefined;
      seen.push(current.fingerprint256);
      current = current.issuerCertificate;
    }
    return Object.assign(new Error(`no certificate of the hub's chain has the pinned CA fingerprint ${caFingerprint} (chain: ${seen.join(', ')})`), {
      code: CA_PIN_MISMATCH,
    });
  };
}

/** OpenSSL's and Node's codes for a certificate the agent does not trust. */
const CERTIFICATE_REFUSED = new Set([
  CA_PIN_MISMATCH,
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);

/** True when a connection error is the agent refusing the hub's certificate (not the network or the broker). */
export function isCertificateRefusal(code: unknown): boolean {
  return typeof code === 'string' && CERTIFICATE_REFUSED.has(code);
}
