/**
 * Health endpoints of the real server (acceptance scenario 11): `/livez`, `/readyz`, `/startupz`
 * as zot serves them, and readiness that flips when storage stops taking writes.
 *
 * Storage is made unwritable for real, not by faking the check: as an unprivileged user by taking
 * away write permission; as root, whom permissions do not stop, with the immutable attribute
 * (`chattr +i`), or failing that a read-only bind mount.
 */
import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../support/clients.js';
import { startBerth, type RunningServer } from '../support/server.js';

type Restore = () => Promise<void>;

/** Makes `dir` refuse new files, returning how to undo it, or why it cannot be done here. */
async function makeUnwritable(dir: string): Promise<Restore | string> {
  if (process.getuid?.() !== 0) {
    await chmod(dir, 0o555);
    return () => chmod(dir, 0o755);
  }
  const immutable = await run('chattr', ['+i', dir]).catch(() => undefined);
  if (immutable?.code === 0) {
    return async () => {
      await run('chattr', ['-i', dir]);
    };
  }
  const bind = await run('mount', ['--bind', dir, dir]).catch(() => undefined);
  if (bind?.code === 0) {
    const ro = await run('mount', ['-o', 'remount,ro,bind', dir]);
    if (ro.code === 0) {
      return async () => {
        await run('umount', [dir]);
      };
    }
    await run('umount', [dir]);
  }
  return `running as root, and neither chattr +i nor a read-only bind mount works here (${immutable?.stderr.trim() ?? 'no chattr'})`;
}

async function status(url: string): Promise<{ code: number; body: string }> {
  const res = await fetch(url);
  return { code: res.status, body: await res.text() };
}

describe('health endpoints (real server)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startBerth();
  });
  after(async () => {
    await server?.stop();
  });

  it('answers livez, readyz and startupz with 200 "ok", unauthenticated', async () => {
    for (const endpoint of ['/livez', '/readyz', '/startupz']) {
      assert.deepEqual(await status(server.url + endpoint), { code: 200, body: 'ok' }, endpoint);
    }
    const head = await fetch(`${server.url}/readyz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  it('answers the catalog anonymously, as the homelab health check expects', async () => {
    assert.equal((await fetch(`${server.url}/v2/_catalog`)).status, 200);
  });

  it('is not ready while storage refuses writes, and ready again once it takes them', async (t) => {
    const dir = path.join(server.root, '_berth');
    const restore = await makeUnwritable(dir);
    if (typeof restore === 'string') {
      t.skip(restore);
      return;
    }
    try {
      assert.deepEqual(await status(`${server.url}/readyz`), {
        code: 500,
        body: 'internal server error: not ready yet',
      });
      assert.deepEqual(
        await status(`${server.url}/livez`),
        { code: 200, body: 'ok' },
        'the process itself is alive',
      );
      assert.deepEqual(await status(`${server.url}/startupz`), { code: 200, body: 'ok' });
    } finally {
      await restore();
    }
    assert.deepEqual(await status(`${server.url}/readyz`), { code: 200, body: 'ok' });
  });
});
