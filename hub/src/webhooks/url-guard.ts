/**
 * SSRF protection for subscriber URLs: a webhook is an HTTP request the hub makes on an admin's behalf, so the
 * URL may not lead the hub into its own loopback, the cloud metadata service or the private networks it sits
 * in. The host is resolved once, every address (A and AAAA) is checked, and the delivery connects to the checked
 * address (`pinnedLookup`), so a DNS answer that changes between check and connect (rebinding) changes nothing.
 */
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { lookup } from 'node:dns/promises';
import { Type, type Static } from '@sinclair/typebox';
import { PulsebridgeError } from '@pulsebridge/runtime';

export const WebhookUrlConfig = Type.Object(
  {
    allowHttp: Type.Boolean({
      default: false,
      description: 'Accept http:// subscriber URLs (payloads then travel unencrypted); for tests and closed networks',
    }),
    allowedCidrs: Type.Array(Type.String(), {
      default: [],
      description:
        'Address ranges a subscriber URL may resolve to although they are loopback, link-local or private ' +
        '(e.g. "10.1.2.0/24" for an on-premises receiver); CIDR notation, IPv4 or IPv6',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type WebhookUrlConfig = Static<typeof WebhookUrlConfig>;

function parseCidr(cidr: string): { network: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!match) return undefined;
  const [, network = '', prefixText = ''] = match;
  const version = isIP(network);
  const prefix = Number(prefixText);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { network, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export function webhookUrlConfigProblems(config: WebhookUrlConfig, path: string): string[] {
  return config.allowedCidrs.flatMap((cidr, index) => (parseCidr(cidr) ? [] : [`${path}/allowedCidrs/${index}: "${cidr}" is not an address range like 10.0.0.0/8 or fd00::/8`]));
}

/**
 * Ranges no subscriber may reach unless allowed. BlockList also matches the IPv4-mapped IPv6 form of an IPv4
 * rule (::ffff:127.0.0.1, ::ffff:7f00:1), so those need no rules of their own.
 */
const REFUSED_RANGES: readonly [network: string, prefix: number, family: 'ipv4' | 'ipv6', what: string][] = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified ("this network")'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (cloud metadata)'],
  ['100.64.0.0', 10, 'ipv4', 'shared address space (carrier-grade NAT)'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved or broadcast'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  // Deprecated IPv4-compatible addresses (::a.b.c.d) reach IPv4 hosts on some stacks; none is public.
  ['::', 96, 'ipv6', 'IPv4-compatible'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fc00::', 7, 'ipv6', 'unique local (private)'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const refused = new Map<string, BlockList>();
for (const [network, prefix, family, what] of REFUSED_RANGES) {
  const list = refused.get(what) ?? new BlockList();
  list.addSubnet(network, prefix, family);
  refused.set(what, list);
}

const nat64 = new BlockList();
nat64.addSubnet('64:ff9b::', 96, 'ipv6');

/** The IPv4 address in the last 32 bits of an IPv6 address. */
function embeddedIpv4(address: string): string {
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted?.[1]) return dotted[1];
  const [head = '', tail] = address.split('::');
  const groups = [...head.split(':'), ...(tail === undefined ? [] : tail.split(':'))].filter((group) => group !== '');
  const low = groups.length >= 2 ? groups.slice(-2) : ['0', ...groups];
  const bits = low.map((group) => parseInt(group, 16));
  return [bits[0]! >> 8, bits[0]! & 255, bits[1]! >> 8, bits[1]! & 255].join('.');
}

/** What kind of refused range an address is in, or undefined when it is public. */
export function refusedRange(address: string): string | undefined {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  for (const [what, list] of refused) if (list.check(address, family)) return what;
  // A NAT64 gateway (RFC 6052 well-known prefix) would carry the request to the IPv4 address inside.
  if (family === 'ipv6' && nat64.check(address, 'ipv6')) {
    const inner = refusedRange(embeddedIpv4(address));
    if (inner) return `${inner} (through NAT64)`;
  }
  return undefined;
}

export type WebhookUrlErrorCode = 'invalid_url' | 'scheme' | 'credentials' | 'unresolvable' | 'refused_address';

export class WebhookUrlError extends PulsebridgeError<WebhookUrlErrorCode> {}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address of a host name, A and AAAA; injected in tests. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The system resolver (getaddrinfo: /etc/hosts included), as the HTTP client would have used it. */
export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4,
  }));

/** Where to deliver: the URL as given (for Host and TLS SNI) and the checked address to connect to. */
export interface PinnedTarget {
  url: URL;
  /** The host name without IPv6 brackets: the Host header and the TLS servername. */
  hostname: string;
  address: string;
  family: 4 | 6;
}

export class UrlGuard {
  private readonly allowed = new BlockList();
  private readonly allowHttp: boolean;

  constructor(
    config: WebhookUrlConfig,
    private readonly resolve: Resolver = systemResolver,
  ) {
    this.allowHttp = config.allowHttp;
    // The config was checked by webhookUrlConfigProblems; a range that does not parse allows nothing.
    for (const cidr of config.allowedCidrs) {
      const range = parseCidr(cidr);
      if (range) this.allowed.addSubnet(range.network, range.prefix, range.family);
    }
  }

  /** Whether a URL's form is acceptable, without resolving it (for the subscription API's 400). */
  parse(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new WebhookUrlError('invalid_url', 'the webhook URL is not an absolute URL');
    }
    if (url.protocol !== 'https:' && !(this.allowHttp && url.protocol === 'http:')) {
      throw new WebhookUrlError('scheme', `the webhook URL must use https${this.allowHttp ? ' or http' : ''}`);
    }
    // Credentials would be sent to the receiver and stored in the delivery log; the signature authenticates instead.
    if (url.username !== '' || url.password !== '') {
      throw new WebhookUrlError('credentials', 'the webhook URL may not contain a user name or password');
    }
    if (url.hostname === '') throw new WebhookUrlError('invalid_url', 'the webhook URL has no host');
    return url;
  }

  /**
   * Resolves the URL's host and checks every address: one refused address refuses the URL, since the
   * client could have connected to any of them. Call before each delivery and connect to the result.
   */
  async check(raw: string): Promise<PinnedTarget> {
    const url = this.parse(raw);
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const literal = isIP(hostname);
    let addresses: ResolvedAddress[];
    if (literal !== 0) {
      addresses = [{ address: hostname, family: literal === 6 ? 6 : 4 }];
    } else {
      try {
        addresses = await this.resolve(hostname);
      } catch (err) {
        throw new WebhookUrlError('unresolvable', `the webhook host ${hostname} does not resolve`, { cause: err });
      }
      if (addresses.length === 0) {
        throw new WebhookUrlError('unresolvable', `the webhook host ${hostname} has no address`);
      }
    }
    for (const { address } of addresses) {
      const what = refusedRange(address);
      if (what && !this.allowed.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')) {
        throw new WebhookUrlError('refused_address', `the webhook host ${hostname} resolves to ${address}, a ${what} address the hub does not deliver to`);
      }
    }
    const [first] = addresses as [ResolvedAddress];
    return { url, hostname, address: first.address, family: first.family };
  }
}

/**
 * A `lookup` for http(s).request / net.connect that answers the checked address whatever name is asked, so
 * the connection goes where the guard looked while Host and SNI keep the subscriber's name.
 */
export function pinnedLookup(target: PinnedTarget): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) {
      (callback as unknown as (err: null, addresses: ResolvedAddress[]) => void)(null, [{ address: target.address, family: target.family }]);
    } else {
      callback(null, target.address, target.family);
    }
  };
}
