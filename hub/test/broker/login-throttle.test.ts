import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle, addressKey, type LoginAttempt } from '../../src/broker/login-throttle.ts';
import type { LoginThrottleSection } from '../../src/broker/config.ts';

const settings: LoginThrottleSection = { maxFailuresPerAddress: 6, maxFailuresPerAgent: 3, windowMs: 60_000, blockMs: 30_000, maxTrackedKeys: 100 };

function throttle(overrides: Partial<LoginThrottleSection> = {}): { throttle: LoginThrottle; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { throttle: new LoginThrottle({ ...settings, ...overrides }, () => clock.now), clock };
}

/** One attempt that is admitted and fails; returns false when it was refused unchecked instead. */
function failOnce(t: LoginThrottle, attempt: LoginAttempt): boolean {
  if (t.admit(attempt) !== undefined) return false;
  t.failed(attempt);
  return true;
}

describe('LoginThrottle', () => {
  test('an agent id that failed maxFailuresPerAgent times is refused unchecked, for that id only, until blockMs has passed', () => {
    const { throttle: t, clock } = throttle();
    const guess = { address: '10.0.0.1', agent: 'box-1' };
    assert.equal(failOnce(t, guess), true);
    assert.equal(failOnce(t, guess), true);
    assert.deepEqual((t.admit(guess), t.failed(guess)), ['agent'], 'the third failure starts the block');
    assert.equal(t.admit(guess), 'agent');
    assert.equal(t.admit({ address: '10.0.0.9', agent: 'box-1' }), 'agent', 'from another address too');
    assert.equal(t.admit({ address: '10.0.0.1', agent: 'box-2' }), undefined, 'another agent from the same address is still checked');
    t.succeeded({ address: '10.0.0.1', agent: 'box-2' });
    clock.now += 29_999;
    assert.equal(t.admit(guess), 'agent');
    clock.now += 1;
    assert.equal(t.admit(guess), undefined, 'the block has expired');
  });

  test('an address that failed maxFailuresPerAddress times over many agent ids is refused unchecked, other addresses are not', () => {
    const { throttle: t, clock } = throttle();
    for (let i = 0; i < 6; i++) assert.equal(failOnce(t, { address: '10.0.0.1', agent: `guess-${i}` }), true);
    assert.equal(t.admit({ address: '10.0.0.1', agent: 'box-1' }), 'address');
    assert.equal(t.admit({ address: '10.0.0.2', agent: 'box-1' }), undefined);
    t.succeeded({ address: '10.0.0.2', agent: 'box-1' });
    clock.now += 30_000;
    assert.equal(t.admit({ address: '10.0.0.1', agent: 'box-1' }), undefined);
  });

  test('failures spread out over more than the window never block', () => {
    const { throttle: t, clock } = throttle();
    const attempt = { address: '10.0.0.1', agent: 'box-1' };
    for (let i = 0; i < 20; i++) {
      assert.equal(failOnce(t, attempt), true, `attempt ${i}`);
      if (i % 2 === 1) clock.now += 60_000;
    }
  });

  test('checks in flight count: a burst of parallel attempts gets no more checks than the limit', () => {
    const { throttle: t } = throttle();
    const attempt = { address: '10.0.0.1', agent: 'box-1' };
    assert.equal(t.admit(attempt), undefined);
    assert.equal(t.admit(attempt), undefined);
    assert.equal(t.admit(attempt), undefined);
    assert.equal(t.admit(attempt), 'agent', 'three checks already running for this id');
    t.succeeded(attempt);
    assert.equal(t.admit(attempt), undefined, 'one finished, so one more may start');
  });

  test("a success clears its agent id's failures but not its address's", () => {
    const { throttle: t } = throttle();
    const attempt = { address: '10.0.0.1', agent: 'box-1' };
    failOnce(t, attempt);
    failOnce(t, attempt);
    assert.equal(t.admit(attempt), undefined);
    t.succeeded(attempt);
    failOnce(t, attempt);
    failOnce(t, attempt);
    assert.equal(t.admit(attempt), undefined, 'the id starts counting afresh after the success');
    t.abandoned(attempt);
    assert.equal(failOnce(t, { address: '10.0.0.1', agent: 'other' }), true);
    assert.equal(failOnce(t, { address: '10.0.0.1', agent: 'other' }), true);
    assert.equal(t.admit({ address: '10.0.0.1', agent: 'third' }), 'address', 'the address kept its four earlier failures: with two more it is blocked');
  });

  test('memory is bounded: a flood of distinct addresses and ids keeps at most maxTrackedKeys of each', () => {
    const { throttle: t, clock } = throttle({ maxTrackedKeys: 50 });
    for (let i = 0; i < 1_000; i++) {
      failOnce(t, { address: `10.0.${i >> 8}.${i & 255}`, agent: `guess-${i}` });
      if (i % 100 === 0) clock.now += 1_000;
    }
    assert.ok(t.tracked.addresses <= 50, `${t.tracked.addresses} addresses`);
    assert.ok(t.tracked.agents <= 50, `${t.tracked.agents} agent ids`);
  });

  test('blockMs 0 turns throttling off', () => {
    const { throttle: t } = throttle({ blockMs: 0 });
    const attempt = { address: '10.0.0.1', agent: 'box-1' };
    for (let i = 0; i < 50; i++) assert.equal(failOnce(t, attempt), true);
    assert.deepEqual(t.tracked, { addresses: 0, agents: 0 });
  });

  test('addresses are keyed as IPv4, IPv4-mapped IPv6 as IPv4, other IPv6 by their /64', () => {
    assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey(undefined), 'unknown');
  });
});
