import { describe, expect, it } from 'vitest';
import { addressPrefix, LoginGate } from './login-gate.js';

/** A password check the test settles by hand. */
function held() {
  const checks: { username: string; settle: (ok: boolean) => void }[] = [];
  const check = (username: string) => () => new Promise<boolean>((resolve) => checks.push({ username, settle: resolve }));
  return { checks, check };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('LoginGate', () => {
  const options = { queueMax: 4, usernameFailures: 3, prefixFailures: 5, backoffMaxMs: 8_000 };

  it('runs two checks at once, serves waiting prefixes round-robin, and refuses once the queue is full', async () => {
    const gate = new LoginGate(options);
    const { checks, check } = held();
    const results: Record<string, unknown> = {};
    const go = (u: string, ip: string) =>
      void gate.check(u, ip, check(u), (ok) => ok).then((r) => (results[u] = r.ok ? 'checked' : r.limit));
    go('flood-1', '10.0.0.1');
    go('flood-2', '10.0.0.2');
    go('flood-3', '10.0.0.3');
    go('flood-4', '10.0.0.4');
    expect(checks.map((c) => c.username)).toEqual(['flood-1', 'flood-2']);
    go('late', '10.9.0.1'); // another prefix: the newest flood waiter gives way
    await tick();
    expect(results).toEqual({ 'flood-4': 'MQTT_AUTH_QUEUE_MAX' });
    go('flood-5', '10.0.0.5'); // full, and its prefix has the most waiting: refused
    await tick();
    expect(results['flood-5']).toBe('MQTT_AUTH_QUEUE_MAX');
    checks[0]!.settle(false);
    await tick();
    // Fair by prefix: 10.9.0.0/24 (nothing served yet) goes before the flood's third.
    expect(checks.map((c) => c.username)).toEqual(['flood-1', 'flood-2', 'late']);
  });

  it('backs a username off after its failures, 1 s doubling up to the maximum; a success clears it', async () => {
    let now = 0;
    const gate = new LoginGate({ ...options, now: () => now });
    const attempt = async (u: string, ip: string, ok = false) => {
      const r = await gate.check(
        u,
        ip,
        async () => ok,
        (v) => v,
      );
      return r.ok ? 'checked' : r.limit;
    };
    for (const ip of ['10.0.1.1', '10.0.2.1', '10.0.3.1']) expect(await attempt('dev', ip)).toBe('checked');
    expect(await attempt('dev', '10.0.4.1')).toBe('MQTT_AUTH_BACKOFF_USERNAME_FAILURES');
    expect(await attempt('other', '10.0.4.1')).toBe('checked'); // other usernames are not affected
    now += 1_001;
    expect(await attempt('dev', '10.0.5.1')).toBe('checked'); // 4th failure: 2 s
    now += 1_500;
    expect(await attempt('dev', '10.0.5.1')).toBe('MQTT_AUTH_BACKOFF_USERNAME_FAILURES');
    now += 600;
    await attempt('dev', '10.0.6.1'); // 5th: 4 s
    now += 4_001;
    await attempt('dev', '10.0.7.1'); // 6th: 8 s (the maximum)
    now += 8_001;
    await attempt('dev', '10.0.8.1'); // 7th: still 8 s
    now += 7_999;
    expect(await attempt('dev', '10.0.9.1')).toBe('MQTT_AUTH_BACKOFF_USERNAME_FAILURES');
    now += 2;
    expect(await attempt('dev', '10.0.9.1', true)).toBe('checked');
    expect(await attempt('dev', '10.0.9.2')).toBe('checked'); // the success cleared the count
  });

  it('backs an address prefix off after its failures, whatever the usernames; waiters from it are refused when their turn comes', async () => {
    let now = 0;
    const gate = new LoginGate({ ...options, queueMax: 100, now: () => now });
    const { checks, check } = held();
    const results: unknown[] = [];
    for (let i = 0; i < 8; i++)
      void gate
        .check(`user-${i}`, `192.0.2.${i + 10}`, check(`user-${i}`), (ok) => ok)
        .then((r) => results.push(r.ok ? 'checked' : r.limit));
    for (let i = 0; i < 5; i++) {
      checks[i]!.settle(false);
      await tick();
    }
    await tick();
    // Six checks started (two at a time) before the fifth failure; then the prefix backs off and
    // the two still waiting are refused without a check.
    expect(checks).toHaveLength(6);
    expect(results.filter((r) => r === 'MQTT_AUTH_BACKOFF_PREFIX_FAILURES')).toHaveLength(2);
    checks.length = 0;
    expect(
      await gate.check(
        'someone',
        '::ffff:192.0.2.7',
        async () => true,
        (v) => v,
      ),
    ).toEqual({ ok: false, limit: 'MQTT_AUTH_BACKOFF_PREFIX_FAILURES' });
    expect(
      (
        await gate.check(
          'someone',
          '192.0.3.1',
          async () => true,
          (v) => v,
        )
      ).ok,
    ).toBe(true);
    now += 1_001;
    expect(
      (
        await gate.check(
          'someone-else',
          '192.0.2.200',
          async () => true,
          (v) => v,
        )
      ).ok,
    ).toBe(true);
  });

  it('prefixes: IPv4 /24, IPv6 /64', () => {
    expect(addressPrefix('127.0.0.5')).toBe('127.0.0.0/24');
    expect(addressPrefix('::ffff:10.1.2.3')).toBe('10.1.2.0/24');
    expect(addressPrefix('2001:db8:0:12::1')).toBe('2001:db8:0:12::/64');
    expect(addressPrefix('2001:DB8::1')).toBe('2001:db8:0:0::/64');
  });
});
