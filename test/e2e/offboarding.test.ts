/**
 * Offboarding (issue 11 item 3): removing a user from the htpasswd file (re-read on change) makes
 * their API keys, browser sessions and registry tokens stop working within 5 s, a live session
 * can no longer mint keys, and all of it works again once the user is restored. Real server,
 * real edits of the htpasswd file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { UI_HEADER } from '../support/oidc.js';
import { startBerth, type RunningServer } from '../support/server.js';

const PASSWORDS = { carol: 'carol-secret', root: 'root-secret' };

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

describe('removing a user from htpasswd', () => {
  let berth: RunningServer;
  let work: string;
  let file: string;
  const lines: Record<string, string> = {};

  const writeUsers = (users: string[]): Promise<void> =>
    writeFile(file, users.map((u) => `${u}:${lines[u]}\n`).join(''));

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-offboarding-'));
    file = path.join(work, 'htpasswd');
    for (const [user, password] of Object.entries(PASSWORDS)) lines[user] = await bcrypt.hash(password, 5);
    await writeUsers(['carol', 'root']);
    berth = await startBerth({
      config: {
        storage: {},
        http: {
          auth: { htpasswd: { path: file }, apikey: true },
          accessControl: {
            repositories: { '**': { defaultPolicy: ['read', 'create'] } },
          },
        },
      },
    });
  });
  after(async () => {
    await berth?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  /** What carol's credentials get: key, session, both kinds of token, and minting a key. */
  async function probe(creds: { key: string; cookie: string; keyToken: string; passwordToken: string }) {
    const status = async (init: RequestInit & { url?: string }) => {
      const res = await fetch(init.url ?? `${berth.url}/v2/_catalog`, init);
      await res.arrayBuffer();
      return res.status;
    };
    return {
      key: await status({ headers: basic('carol', creds.key) }),
      session: await status({
        url: `${berth.url}/zot/auth/apikey`,
        headers: { ...UI_HEADER, Cookie: creds.cookie },
      }),
      keyToken: await status({ headers: { Authorization: `Bearer ${creds.keyToken}` } }),
      passwordToken: await status({ headers: { Authorization: `Bearer ${creds.passwordToken}` } }),
      mint: await status({
        url: `${berth.url}/zot/auth/apikey`,
        method: 'POST',
        headers: {
          ...UI_HEADER,
          Cookie: creds.cookie,
          'Content-Type': 'application/json',
          Origin: berth.url,
        },
        body: '{"label":"after"}',
      }),
    };
  }

  async function waitFor<T>(what: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
    const deadline = Date.now() + ms;
    let value = await what();
    while (!done(value) && Date.now() < deadline) {
      await sleep(250);
      value = await what();
    }
    return value;
  }

  it("refuses the user's key, session and tokens within 5 s, and accepts them again when restored", async () => {
    // Carol signs in to the web UI with her password and makes a key in that session.
    const signIn = await fetch(`${berth.url}/v2/`, {
      headers: { ...UI_HEADER, ...basic('carol', PASSWORDS.carol) },
    });
    assert.equal(signIn.status, 200);
    const cookie = signIn.headers
      .getSetCookie()
      .find((c) => c.startsWith('session='))!
      .split(';')[0]!;
    const created = await fetch(`${berth.url}/zot/auth/apikey`, {
      method: 'POST',
      headers: { ...UI_HEADER, Cookie: cookie, 'Content-Type': 'application/json', Origin: berth.url },
      body: '{"label":"ci"}',
    });
    assert.equal(created.status, 201);
    const key = ((await created.json()) as { apiKey: string }).apiKey;
    const token = async (password: string): Promise<string> => {
      const res = await fetch(`${berth.url}/zot/auth/token?service=x&scope=repository:team/app:pull`, {
        headers: basic('carol', password),
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { token: string }).token;
    };
    const creds = { key, cookie, keyToken: await token(key), passwordToken: await token(PASSWORDS.carol) };
    const allowed = { key: 200, session: 200, keyToken: 200, passwordToken: 200, mint: 201 };
    assert.deepEqual(await probe(creds), allowed);

    await writeUsers(['root']);
    const refused = { key: 401, session: 401, keyToken: 401, passwordToken: 401, mint: 401 };
    const removed = await waitFor(
      () => probe(creds),
      (p) => p.key === 401 && p.session === 401,
      5_000,
    );
    assert.deepEqual(removed, refused);

    await writeUsers(['carol', 'root']);
    const restored = await waitFor(
      () => probe(creds),
      (p) => p.key === 200 && p.session === 200,
      5_000,
    );
    assert.deepEqual(restored, allowed);
  });
});
