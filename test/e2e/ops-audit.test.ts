/**
 * The audit log of the real server (`log.audit`) through a full push/delete session made with a
 * real client (skopeo, our first user's CI push path): one JSON line per push and delete, saying
 * who, what, when and from where.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireCommand, runOk } from '../support/clients.js';
import { makeImage, writeOciLayout } from '../support/fixtures.js';
import { startBerth, type RunningServer } from '../support/server.js';

describe('audit log (real server, skopeo)', () => {
  let work: string;
  let server: RunningServer;
  let auditFile: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'e2e-audit-'));
    auditFile = path.join(work, 'audit', 'audit.log');
    server = await startBerth({ config: { log: { level: 'info', audit: auditFile } } });
  });

  after(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it(
    'records every push and delete of a skopeo session, with who, what, when and from where',
    { timeout: 300_000 },
    async () => {
      const skopeo = requireCommand('skopeo');
      const policy = path.join(work, 'policy.json');
      await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
      const image = makeImage({ layerSizes: [50_000, 2_000] });
      const layout = await writeOciLayout(path.join(work, 'layout'), [{ content: image, tag: 'v1' }]);
      const started = Date.now();

      const dest = `docker://${server.host}/ci/service:v1`;
      await runOk(skopeo, ['--policy', policy, 'copy', '--dest-tls-verify=false', `oci:${layout}:v1`, dest], {
        timeoutMs: 240_000,
      });
      await runOk(skopeo, ['--policy', policy, 'delete', '--tls-verify=false', dest], { timeoutMs: 60_000 });

      // The delete is recorded once its response closed on the server, a moment after skopeo exits.
      let entries: Record<string, unknown>[] = [];
      for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
        entries = (await readFile(auditFile, 'utf8'))
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        if (entries.some((e) => e.action === 'manifest.delete')) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const blobPushes = entries.filter((e) => e.action === 'blob.push');
      assert.deepEqual(
        blobPushes.map((e) => e.digest).sort(),
        image.blobs.map((b) => b.digest).sort(),
        'one line per blob skopeo uploaded',
      );
      const push = entries.find((e) => e.action === 'manifest.push');
      const del = entries.find((e) => e.action === 'manifest.delete');
      assert.ok(push && del, JSON.stringify(entries, null, 2));
      assert.deepEqual(
        entries.map((e) => e.action),
        [...blobPushes.map(() => 'blob.push'), 'manifest.push', 'manifest.delete'],
        'the blobs, then the manifest, then the delete, in order',
      );
      assert.deepEqual(
        [push.repo, push.reference, push.digest, push.status],
        ['ci/service', 'v1', image.manifest.digest, 201],
      );
      assert.deepEqual([del.repo, del.reference, del.status], ['ci/service', image.manifest.digest, 202]);
      for (const entry of entries) {
        assert.equal(entry.user, '', 'nobody signed in: the anonymous user ""');
        assert.match(String(entry.client), /^(::ffff:)?127\.0\.0\.1$/);
        const when = Date.parse(String(entry.time));
        assert.ok(when >= started - 1000 && when <= Date.now() + 1000);
        assert.equal(typeof entry.requestId, 'string');
      }
    },
  );
});
