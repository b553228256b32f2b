import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkWebhookUrl, classifyAddress, guardedLookup } from '../src/alerts/webhook-target.js';

/** docs/reliability.md I5, the pure part: which webhook URLs and addresses the hub may reach. */

describe('webhook targets (I5)', () => {
  test('addresses are classified by range, IPv4-mapped IPv6 included', () => {
    const table: [string, string][] = [
      ['169.254.169.254', 'link-local'],
      ['fd00:ec2::254', 'metadata'],
      ['fe80::1', 'link-local'],
      ['127.0.0.1', 'loopback'],
      ['127.8.9.10', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:169.254.169.254', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'],
      ['fd12:3456::1', 'private'],
      ['224.0.0.1', 'multicast'],
      ['255.255.255.255', 'reserved'],
      ['64:ff9b::a00:1', 'reserved'],
      ['172.32.0.1', 'public'],
      ['8.8.8.8', 'public'],
      ['2606:4700::1111', 'public'],
    ];
    for (const [address, cls] of table) assert.equal(classifyAddress(address), cls, address);
  });

  test('IPv6 transition and deprecated ranges are refused whatever the allowance, naming the IPv4 address they carry', () => {
    const reserved: [string, RegExp][] = [
      ['::7f00:1', /IPv4-compatible, carrying 127\.0\.0\.1, loopback/],
      ['::127.0.0.1', /IPv4-compatible, carrying 127\.0\.0\.1/],
      ['::a9fe:a9fe', /carrying 169\.254\.169\.254, link-local/],
      ['::808:808', /IPv4-compatible, carrying 8\.8\.8\.8, public/],
      ['::ffff:0:7f00:1', /IPv4-translated, carrying 127\.0\.0\.1/],
      ['::ffff:0:10.0.0.1', /IPv4-translated, carrying 10\.0\.0\.1, private/],
      ['64:ff9b::7f00:1', /NAT64, carrying 127\.0\.0\.1/],
      ['64:ff9b::808:808', /NAT64, carrying 8\.8\.8\.8/],
      ['64:ff9b:1::a00:1', /local-use NAT64/],
      ['2002:7f00:1::', /6to4, carrying 127\.0\.0\.1/],
      ['2002:a00:1::1', /6to4, carrying 10\.0\.0\.1, private/],
      ['2002:c0a8:101:1::5', /6to4, carrying 192\.168\.1\.1/],
      ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
      ['fec0::1', /site-local/],
      ['feff:ffff::1', /site-local/],
      ['100::1', /discard-only/],
      ['100::ffff:7f00:1', /discard-only/],
    ];
    for (const [address, reason] of reserved) {
      assert.equal(classifyAddress(address), 'reserved', address);
      for (const allowPrivate of [false, true]) {
        const v = checkWebhookUrl(`http://[${address}]:8080/hook`, allowPrivate);
        assert.equal(v.ok, false, address);
        assert.match((v as { reason: string }).reason, reason, address);
      }
    }
    // IPv4-mapped addresses are the IPv4 address itself, whichever way they are written.
    const mapped: [string, string][] = [
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:a00:1', 'private'],
      ['::ffff:a9fe:a9fe', 'link-local'],
      ['::ffff:0.0.0.0', 'unspecified'],
      ['::ffff:808:808', 'public'],
    ];
    for (const [address, cls] of mapped) assert.equal(classifyAddress(address), cls, address);
    assert.equal(checkWebhookUrl('http://[::ffff:7f00:1]/', false).ok, false);
    assert.equal(checkWebhookUrl('http://[::ffff:a9fe:a9fe]/', true).ok, false);
    // Neighbours of the refused ranges stay public.
    for (const address of ['2003::1', '2001:4860::8888', '2606:4700::1111', '101::1', 'fe00::1']) {
      assert.equal(classifyAddress(address), 'public', address);
    }
  });

  test('refused without the private allowance: metadata, loopback, private, other schemes', () => {
    const refused = [
      'http://169.254.169.254/latest/meta-data/',
      'http://localhost:1/',
      'http://LOCALHOST./x',
      'http://app.localhost/',
      'file:///etc/passwd',
      'ftp://x',
      'gopher://x/',
      'http://127.0.0.1:8080/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://[::1]/',
      'http://[::ffff:7f00:1]/',
      'http://[fd00:ec2::254]/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://0.0.0.0:9/',
      'http://10.0.0.5/hook',
      'not a url',
    ];
    for (const url of refused) {
      const v = checkWebhookUrl(url, false);
      assert.equal(v.ok, false, url);
    }
    assert.match((checkWebhookUrl('file:///etc/passwd', false) as { reason: string }).reason, /only http and https/);
    assert.match((checkWebhookUrl('http://127.0.0.1/', false) as { reason: string }).reason, /--webhook-allow-private/);
  });

  test('the private allowance opens loopback and private ranges, never metadata, link-local or 0.0.0.0', () => {
    for (const url of ['http://localhost:1/', 'http://127.0.0.1:9000/x', 'http://[::1]:80/', 'http://10.0.0.5/', 'http://192.168.0.9/']) {
      assert.equal(checkWebhookUrl(url, true).ok, true, url);
    }
    for (const url of [
      'http://169.254.169.254/',
      'http://[fd00:ec2::254]/',
      'http://metadata.google.internal/',
      'http://0.0.0.0/',
      'file:///etc/passwd',
    ]) {
      assert.equal(checkWebhookUrl(url, true).ok, false, url);
    }
  });

  test('public http and https URLs are accepted', () => {
    for (const url of ['https://hooks.slack.com/services/T000/B000/XXXX', 'http://8.8.8.8/hook', 'https://example.com:8443/a?b=c']) {
      assert.equal(checkWebhookUrl(url, false).ok, true, url);
    }
  });

  test('at send time a name that resolves to a refused address is refused after DNS', async () => {
    const lookup = guardedLookup(false);
    const err = await new Promise<Error | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
    assert.ok(err, 'localhost resolves to loopback, refused');
    assert.equal((err as { code?: string }).code, 'VIGIL_WEBHOOK_TARGET_REFUSED');
    const allowed = guardedLookup(true);
    const address = await new Promise<string>((resolve, reject) =>
      allowed('localhost', {}, (e, a) => (e ? reject(e) : resolve(String(a)))),
    );
    assert.match(address, /^(127\.|::1)/);
  });
});
