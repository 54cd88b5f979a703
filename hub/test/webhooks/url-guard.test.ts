import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pinnedLookup, refusedRange, UrlGuard, WebhookUrlError, webhookUrlConfigProblems, type ResolvedAddress } from '../../src/webhooks/url-guard.ts';

const strict = { allowHttp: false, allowedCidrs: [] };

/** A resolver answering from a table; counts its calls to prove the guard resolves once. */
function stubResolver(table: Record<string, string[]>) {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const answers = table[hostname];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, calls };
}

function refusedWith(code: string) {
  return (err: unknown) => err instanceof WebhookUrlError && err.code === code;
}

const REFUSED_ADDRESSES = [
  '127.0.0.1',
  '127.255.0.9',
  '10.1.2.3',
  '172.16.0.1',
  '172.31.255.254',
  '192.168.1.10',
  '169.254.169.254',
  '169.254.0.1',
  '0.0.0.0',
  '100.64.0.1',
  '224.0.0.251',
  '255.255.255.255',
  '::',
  '::1',
  'fe80::1',
  'febf::1',
  'fc00::1',
  'fd12:3456::1',
  'ff02::1',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::ffff:169.254.169.254',
  '::ffff:10.0.0.1',
  '::ffff:192.168.0.1',
  '::127.0.0.1',
  '64:ff9b::a9fe:a9fe',
  '64:ff9b::127.0.0.1',
  '64:ff9b::c0a8:101',
];

test('every loopback, link-local, private, unspecified, multicast and mapped address is refused', async () => {
  for (const address of REFUSED_ADDRESSES) {
    const { resolve } = stubResolver({ 'hooks.example.com': [address] });
    const guard = new UrlGuard(strict, resolve);
    await assert.rejects(guard.check('https://hooks.example.com/in'), refusedWith('refused_address'), address);
  }
});

test('public addresses and ranges next to the refused ones pass', async () => {
  for (const address of ['93.184.215.14', '172.15.255.255', '172.32.0.1', '169.253.0.1', '11.0.0.1', '2606:4700::1111', '::ffff:93.184.215.14', '64:ff9b::5db8:d70e']) {
    assert.equal(refusedRange(address), undefined, address);
    const { resolve } = stubResolver({ 'hooks.example.com': [address] });
    const target = await new UrlGuard(strict, resolve).check('https://hooks.example.com/in');
    assert.equal(target.address, address);
  }
});

test('the refusal names the host, the address and its kind', async () => {
  const { resolve } = stubResolver({ 'metadata.example.com': ['169.254.169.254'] });
  await assert.rejects(new UrlGuard(strict, resolve).check('https://metadata.example.com/'), {
    message: /metadata\.example\.com resolves to 169\.254\.169\.254, a link-local \(cloud metadata\) address/,
  });
});

test('one refused address among public ones refuses the URL, in either order and family', async () => {
  for (const answers of [
    ['93.184.215.14', '10.0.0.5'],
    ['10.0.0.5', '93.184.215.14'],
    ['93.184.215.14', '2606:4700::1111', '::1'],
    ['2606:4700::1111', 'fd00::5'],
  ]) {
    const { resolve } = stubResolver({ 'hooks.example.com': answers });
    await assert.rejects(new UrlGuard(strict, resolve).check('https://hooks.example.com/'), refusedWith('refused_address'));
  }
});

test('an allowed CIDR lets its addresses through, and only those', async () => {
  const guard = (answers: string[]) => new UrlGuard({ allowHttp: false, allowedCidrs: ['10.1.2.0/24', '::1/128'] }, stubResolver({ 'onprem.gym': answers }).resolve);
  assert.equal((await guard(['10.1.2.7']).check('https://onprem.gym/')).address, '10.1.2.7');
  assert.equal((await guard(['::1']).check('https://onprem.gym/')).address, '::1');
  await assert.rejects(guard(['10.1.3.7']).check('https://onprem.gym/'), refusedWith('refused_address'));
  await assert.rejects(guard(['10.1.2.7', '127.0.0.1']).check('https://onprem.gym/'), refusedWith('refused_address'));
});

test('IP literals are checked without resolving, in every spelling the URL parser accepts', async () => {
  const { resolve, calls } = stubResolver({});
  const guard = new UrlGuard(strict, resolve);
  for (const url of [
    'https://127.0.0.1/',
    'https://2130706433/',
    'https://0x7f.1/',
    'https://[::1]:8443/',
    'https://[::ffff:127.0.0.1]/',
    'https://169.254.169.254/latest/meta-data/',
  ]) {
    await assert.rejects(guard.check(url), refusedWith('refused_address'), url);
  }
  const target = await guard.check('https://[2606:4700::1111]:8443/in');
  assert.deepEqual([target.hostname, target.address, target.family, target.url.port], ['2606:4700::1111', '2606:4700::1111', 6, '8443']);
  assert.deepEqual(calls, []);
});

test('http is refused unless configured; other schemes always', async () => {
  const { resolve } = stubResolver({ 'hooks.example.com': ['93.184.215.14'] });
  await assert.rejects(new UrlGuard(strict, resolve).check('http://hooks.example.com/'), refusedWith('scheme'));
  const lax = new UrlGuard({ allowHttp: true, allowedCidrs: [] }, resolve);
  assert.equal((await lax.check('http://hooks.example.com/')).address, '93.184.215.14');
  for (const url of ['ftp://hooks.example.com/', 'file:///etc/passwd', 'gopher://hooks.example.com/', 'ws://hooks.example.com/']) {
    await assert.rejects(lax.check(url), refusedWith('scheme'), url);
  }
  // http does not lift the address check.
  await assert.rejects(lax.check('http://127.0.0.1:8080/'), refusedWith('refused_address'));
});

test('credentials in the URL are refused', async () => {
  const guard = new UrlGuard(strict, stubResolver({ 'hooks.example.com': ['93.184.215.14'] }).resolve);
  for (const url of ['https://user:pass@hooks.example.com/', 'https://user@hooks.example.com/', 'https://:pass@hooks.example.com/']) {
    await assert.rejects(guard.check(url), refusedWith('credentials'), url);
  }
});

test('malformed URLs and unresolvable or empty hosts are refused', async () => {
  const guard = new UrlGuard(strict, stubResolver({ 'empty.example.com': [] }).resolve);
  for (const url of ['', 'hooks.example.com/in', '/relative', 'https://']) {
    await assert.rejects(guard.check(url), refusedWith('invalid_url'), url);
  }
  await assert.rejects(guard.check('https://nowhere.example.com/'), refusedWith('unresolvable'));
  await assert.rejects(guard.check('https://empty.example.com/'), refusedWith('unresolvable'));
});

test('the host is resolved once and the pinned address is what the client connects to', async () => {
  // A rebinding resolver: public on the first answer, loopback afterwards.
  let answers = ['93.184.215.14'];
  const calls: string[] = [];
  const guard = new UrlGuard(strict, async (hostname) => {
    calls.push(hostname);
    const now = answers;
    answers = ['127.0.0.1'];
    return now.map((address) => ({ address, family: 4 }));
  });
  const target = await guard.check('https://rebind.example.com/in');
  assert.deepEqual(calls, ['rebind.example.com']);
  const lookup = pinnedLookup(target);
  const single = await new Promise<[string, number]>((resolve, reject) =>
    lookup('rebind.example.com', {}, (err, address, family) => (err ? reject(err) : resolve([address as string, family as number]))),
  );
  assert.deepEqual(single, ['93.184.215.14', 4]);
  const all = await new Promise<unknown>((resolve, reject) => lookup('rebind.example.com', { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));
  assert.deepEqual(all, [{ address: '93.184.215.14', family: 4 }]);
});

test('pinnedLookup makes a real request connect to the pinned address with the original Host header', async () => {
  const server = createServer((req, res) => res.end(req.headers.host));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const guard = new UrlGuard({ allowHttp: true, allowedCidrs: ['127.0.0.0/8'] }, stubResolver({ 'receiver.test': ['127.0.0.1'] }).resolve);
    const target = await guard.check(`http://receiver.test:${port}/in`);
    const host = await new Promise<string>((resolve, reject) => {
      const req = request(target.url, { lookup: pinnedLookup(target) }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (chunk: string) => (body += chunk))
          .on('end', () => resolve(body));
      });
      req.on('error', reject).end();
    });
    assert.equal(host, `receiver.test:${port}`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('webhookUrlConfigProblems lists every range that is not CIDR notation', () => {
  assert.deepEqual(webhookUrlConfigProblems({ allowHttp: false, allowedCidrs: ['10.0.0.0/8', 'fd00::/8'] }, '/webhooks'), []);
  assert.deepEqual(webhookUrlConfigProblems({ allowHttp: false, allowedCidrs: ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', 'localhost/8', '::1/128'] }, '/webhooks'), [
    '/webhooks/allowedCidrs/0: "10.0.0.0" is not an address range like 10.0.0.0/8 or fd00::/8',
    '/webhooks/allowedCidrs/1: "10.0.0.0/33" is not an address range like 10.0.0.0/8 or fd00::/8',
    '/webhooks/allowedCidrs/2: "fd00::/129" is not an address range like 10.0.0.0/8 or fd00::/8',
    '/webhooks/allowedCidrs/3: "localhost/8" is not an address range like 10.0.0.0/8 or fd00::/8',
  ]);
});
