/**
 * The anonymous sign-in route under abuse (issue 11 items 7 and 13): a flood of 10,100
 * `/zot/auth/login` calls must not break another user's sign-in in progress, and a non-ASCII
 * `callback_ui` is a 400, not a 500. The user's config, a real OpenID Connect provider.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser, formAction, startHomelab, TEST_USERS, type Homelab } from '../support/oidc.js';

describe('OIDC sign-in under abuse', () => {
  let lab: Homelab;
  // Every step is bounded, so a stall names itself instead of running into the file's timeout.
  before(
    async () => {
      lab = await startHomelab({ withoutKeys: true });
    },
    { timeout: 60_000 },
  );
  after(async () => {
    await lab?.stop();
  });

  it('a non-ASCII callback_ui is refused with 400', async () => {
    for (const callback of ['%2F%C3%A9', '%2Fhome%E2%80%AE', 'http%3A%2F%2F127.0.0.1%2F%C3%A9']) {
      const res = await fetch(`${lab.url}/zot/auth/login?provider=oidc&callback_ui=${callback}`, {
        redirect: 'manual',
        signal: AbortSignal.timeout(60_000),
      });
      await res.arrayBuffer();
      assert.equal(res.status, 400, callback);
    }
  });

  it('10,100 sign-in starts do not break a sign-in in progress', { timeout: 300_000 }, async () => {
    const alice = new Browser();
    const loginPage = await alice.follow(`${lab.url}/zot/auth/login?provider=oidc&callback_ui=%2Fhome`);
    assert.equal(loginPage.status, 200, 'the provider shows its login form');

    let next = 0;
    const statuses = new Map<number, number>();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < 10_100) {
          next++;
          const sent = next;
          const res = await fetch(`${lab.url}/zot/auth/login?provider=oidc`, {
            redirect: 'manual',
            signal: AbortSignal.timeout(60_000),
          }).catch((err: unknown) => {
            throw new Error(
              `flood request ${sent} of 10,100 failed (${JSON.stringify([...statuses])} so far)`,
              {
                cause: err,
              },
            );
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    assert.ok(
      (statuses.get(429) ?? 0) > 0,
      `the flood was never throttled: ${JSON.stringify([...statuses])}`,
    );

    const landing = await alice.follow(formAction(loginPage), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: 'alice', password: TEST_USERS.alice!.password }).toString(),
    });
    const callback = alice.hops.find((h) => h.url.startsWith(`${lab.url}/zot/auth/callback/`));
    assert.equal(
      callback?.status,
      302,
      `callback answered ${callback?.status}: ${landing.body.slice(0, 300)}`,
    );
    assert.equal(callback?.location, '/home');
    assert.ok(alice.cookie('127.0.0.1', 'session') !== undefined, 'alice is signed in');
  });
});
