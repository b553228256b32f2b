import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ipv6Groups } from '../ip-address.js';

/**
 * Where a webhook may point (docs/reliability.md I5). A webhook URL is chosen by whoever holds the admin
 * token, but the hub sends from inside the network: without these checks it would POST to the
 * cloud metadata service (instance credentials), to services bound to loopback, or across the
 * private network (Uptime Kuma GHSA-vffh-c9pq-4crh and friends).
 *
 * - Only http: and https:.
 * - Never link-local (169.254.0.0/16 and fe80::/10, where AWS, GCP and Azure serve metadata),
 *   fd00:ec2::254 or the metadata host names, the unspecified address (0.0.0.0 reaches loopback on
 *   Linux), multicast or reserved ranges, whatever the settings: no receiver lives there.
 * - Never the IPv6 transition and deprecated ranges (IPv4-compatible, IPv4-translated, NAT64,
 *   6to4, Teredo, site-local, discard-only): they wrap an IPv4 address a relay or translator may
 *   deliver to (127.0.0.1 or 10.x behind `2002:7f00:1::`), so they are refused whatever they carry.
 *   IPv4-mapped addresses (`::ffff:a.b.c.d`, also written `::ffff:7f00:1`) are the IPv4 address
 *   itself on a dual-stack socket and are judged as that address.
 * - Loopback, private (RFC 1918, CGNAT, IPv6 unique-local) and `localhost` only when the operator
 *   allows private targets (`--webhook-allow-private`), for a receiver on the same host or LAN.
 *
 * A URL is checked when it is configured (400) and again at every send, on the addresses DNS
 * gives then: the connection goes to exactly the address that passed (no DNS rebinding window).
 */

export type AddressClass = 'public' | 'private' | 'loopback' | 'metadata' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

function list(entries: [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const b = new BlockList();
  for (const [net, prefix, type] of entries) b.addSubnet(net, prefix, type);
  return b;
}

/**
 * IPv6 ranges that carry an IPv4 address or are deprecated, with where the IPv4 address sits
 * (the index of its first 16-bit group) when there is one. `::` and `::1` inside `::/96` are
 * classified first as unspecified and loopback.
 */
const TRANSITION: [net: string, prefix: number, name: string, ipv4At: number | undefined][] = [
  ['::', 96, 'IPv4-compatible', 6],
  ['::ffff:0:0:0', 96, 'IPv4-translated', 6],
  ['64:ff9b::', 96, 'NAT64', 6],
  ['64:ff9b:1::', 48, 'local-use NAT64', undefined],
  ['2002::', 16, '6to4', 1],
  ['2001::', 32, 'Teredo', undefined],
  ['fec0::', 10, 'site-local', undefined],
  ['100::', 64, 'discard-only', undefined],
];
const TRANSITION_LISTS = TRANSITION.map(([net, prefix, name, ipv4At]) => ({ block: list([[net, prefix, 'ipv6']]), name, ipv4At }));

/** Which transition range an IPv6 address is in, and the IPv4 address it carries, for the refusal's reason. */
function transitionOf(address: string): { name: string; ipv4: string | undefined } | undefined {
  for (const { block, name, ipv4At } of TRANSITION_LISTS) {
    if (!block.check(address, 'ipv6')) continue;
    if (ipv4At === undefined) return { name, ipv4: undefined };
    const g = ipv6Groups(address);
    const hi = g[ipv4At] ?? 0;
    const lo = g[ipv4At + 1] ?? 0;
    return { name, ipv4: [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.') };
  }
  return undefined;
}

// Checked in this order; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match the IPv4 entries.
const CLASSES: [AddressClass, BlockList][] = [
  ['metadata', list([['fd00:ec2::254', 128, 'ipv6']])],
  [
    'link-local',
    list([
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ]),
  ],
  [
    'unspecified',
    list([
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ]),
  ],
  [
    'loopback',
    list([
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ]),
  ],
  [
    'private',
    list([
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['100.64.0.0', 10, 'ipv4'],
      ['fc00::', 7, 'ipv6'],
    ]),
  ],
  [
    'multicast',
    list([
      ['224.0.0.0', 4, 'ipv4'],
      ['ff00::', 8, 'ipv6'],
    ]),
  ],
  [
    'reserved',
    list([
      ['240.0.0.0', 4, 'ipv4'],
      ['192.0.0.0', 24, 'ipv4'],
      ['198.18.0.0', 15, 'ipv4'],
      ...TRANSITION.map(([net, prefix]) => [net, prefix, 'ipv6'] as [string, number, 'ipv6']),
    ]),
  ],
];

export function classifyAddress(address: string): AddressClass {
  const family = isIP(address);
  if (family === 0) throw new Error(`not an IP address: ${address}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [cls, blocks] of CLASSES) if (blocks.check(address, type)) return cls;
  return 'public';
}

/** Host names that are metadata services or this machine, whatever DNS would say. */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Whether the hub may connect to this address. */
export function addressAllowed(address: string, allowPrivate: boolean): Verdict {
  const cls = classifyAddress(address);
  if (cls === 'public') return { ok: true };
  if (allowPrivate && (cls === 'private' || cls === 'loopback')) return { ok: true };
  const hint = cls === 'private' || cls === 'loopback' ? ' (allow with --webhook-allow-private)' : '';
  const transition = cls === 'reserved' && isIP(address) === 6 ? transitionOf(address) : undefined;
  const what = transition
    ? ` (${transition.name}${transition.ipv4 ? `, carrying ${transition.ipv4}, ${classifyAddress(transition.ipv4)}` : ''})`
    : '';
  return { ok: false, reason: `${address} is ${/^[aeiou]/.test(cls) ? 'an' : 'a'} ${cls} address${what}${hint}` };
}

/** The configuration-time check of a webhook URL: scheme, literal addresses and well-known names. */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): { ok: true; url: URL } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `only http and https webhooks are accepted, not ${url.protocol.replace(/:$/, '')}` };
  }
  const verdict = hostAllowed(url.hostname, allowPrivate);
  return verdict.ok ? { ok: true, url } : verdict;
}

/** Checks a URL's host as written: an IP literal (the URL parser has normalised 0x7f.1 and the like) or a name. */
export function hostAllowed(hostname: string, allowPrivate: boolean): Verdict {
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (host === '') return { ok: false, reason: 'the URL has no host' };
  if (isIP(host) !== 0) return addressAllowed(host, allowPrivate);
  if (METADATA_NAMES.has(host)) return { ok: false, reason: `${host} is a cloud metadata service` };
  if ((host === 'localhost' || host.endsWith('.localhost')) && !allowPrivate) {
    return { ok: false, reason: `${host} is this machine (allow with --webhook-allow-private)` };
  }
  return { ok: true };
}

/** Raised when a webhook's host resolves, at send time, to an address it may not reach. */
export class BlockedTargetError extends Error {
  readonly code = 'VIGIL_WEBHOOK_TARGET_REFUSED';
}

/**
 * A `lookup` for node:http that resolves the name and refuses it when any of its addresses is not
 * allowed, so the socket connects only to an address that passed.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family ?? 0);
    dnsLookup(hostname, { family, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const verdict = addressAllowed(a.address, allowPrivate);
        if (!verdict.ok) return callback(new BlockedTargetError(`${hostname} resolves to ${verdict.reason}`), []);
      }
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      if (options.all) return callback(null, addresses);
      return callback(null, first.address, first.family);
    });
  };
}
