/**
 * The audit log records a full push/delete session made through the HTTP API, with who, what, when
 * and from where; other parts of Berth (authentication, GC) write to the same file.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { makeImage, makeLayer, pushContent, uploadBlob } from '../../test/support/fixtures.js';
import { gcExtension, type GcExtension } from '../gc/extension.js';
import { HOUR, startTestApp, TestClock, type TestApp } from '../gc/test-app.js';
import type { RequestRecord } from '../http/server.js';
import { auditLogFor } from './audit-log.js';
import { auditActionOf, auditExtension } from './extension.js';

let running: TestApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function readAudit(file: string): Promise<Record<string, unknown>[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Waits until the log holds `count` lines: a request is recorded once its response closed on the
 * server, which may be a moment after the client has read it.
 */
async function auditLines(file: string, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await readAudit(file).catch(() => [])).length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function record(overrides: Partial<RequestRecord>): RequestRecord {
  return {
    method: 'GET',
    path: '/v2/',
    route: 'base',
    repo: undefined,
    user: '',
    requestId: 'r1',
    remoteAddress: '127.0.0.1',
    forwardedFor: undefined,
    digest: undefined,
    status: 200,
    durationSeconds: 0.01,
    bytesIn: 0,
    bytesOut: 0,
    ...overrides,
  };
}

describe('audit log', () => {
  it('records a push and delete session: who, what, when, from where', async () => {
    const clock = new TestClock();
    const base = await mkdtemp(path.join(tmpdir(), 'berth-audit-'));
    const file = path.join(base, 'logs', 'audit.jsonl');
    const t = await startTestApp(
      { storage: { gc: true, gcDelay: '1h' }, log: { audit: file } },
      {
        root: path.join(base, 'data'),
        extensions: [gcExtension({ now: clock.now, manual: true }), auditExtension()],
      },
    );
    running = { ...t, close: () => t.close().finally(() => rm(base, { recursive: true, force: true })) };
    const before = Date.now();
    const image = makeImage();
    const headers = { 'x-forwarded-for': '203.0.113.7' };
    await pushContent(t.url, 'team/app', image, 'v1', { headers });
    assert.equal((await fetch(`${t.url}/v2/team/app/manifests/v1`)).status, 200, 'pulls are not audited');
    assert.equal(
      (await fetch(`${t.url}/v2/team/app/manifests/v1`, { method: 'DELETE', headers })).status,
      202,
    );
    assert.equal(
      (await fetch(`${t.url}/v2/team/app/manifests/${image.manifest.digest}`, { method: 'DELETE' })).status,
      202,
    );
    const orphan = makeLayer();
    await uploadBlob(t.url, 'team/app', orphan);
    assert.equal(
      (await fetch(`${t.url}/v2/team/app/blobs/${orphan.digest}`, { method: 'DELETE' })).status,
      202,
    );
    const post = await fetch(`${t.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
    const session = new URL(post.headers.get('location')!, t.url);
    assert.equal((await fetch(session, { method: 'DELETE' })).status, 204);
    await auditLines(file, 8);
    // Auth wiring records sign-ins and API keys through the same log.
    auditLogFor(t.app).record({
      action: 'apikey.create',
      user: 'zot-ci',
      client: '10.0.0.9',
      detail: { label: 'ci', id: 'k1' },
    });
    // And GC what it removes, as Berth itself.
    clock.advance(2 * HOUR);
    await pushContent(t.url, 'team/old', makeImage());
    clock.advance(2 * HOUR);
    await (t.app.extensions.find((e) => e.name === 'gc') as GcExtension).sweepNow();

    await auditLines(file, 13);
    const entries = await readAudit(file);
    const actions = entries.map((e) => e.action);
    assert.deepEqual(actions, [
      'blob.push',
      'blob.push',
      'manifest.push',
      'tag.delete',
      'manifest.delete',
      'blob.push',
      'blob.delete',
      'upload.cancel',
      'apikey.create',
      'blob.push',
      'blob.push',
      'manifest.push',
      'gc.delete',
    ]);
    const push = entries[2]!;
    assert.equal(push.user, '', 'an anonymous push is recorded as user ""');
    assert.equal(push.repo, 'team/app');
    assert.equal(push.reference, 'v1');
    assert.equal(push.digest, image.manifest.digest);
    assert.equal(push.method, 'PUT');
    assert.equal(push.status, 201);
    assert.match(String(push.client), /127\.0\.0\.1$/);
    assert.equal(push.forwardedFor, '203.0.113.7');
    assert.equal(typeof push.requestId, 'string');
    const when = Date.parse(String(push.time));
    assert.ok(when >= before - 1000 && when <= Date.now() + 1000, 'time is the wall clock, ISO 8601');
    assert.deepEqual(
      [entries[3]!.reference, entries[4]!.reference, entries[6]!.reference],
      ['v1', image.manifest.digest, orphan.digest],
    );
    assert.equal(entries[1]!.digest, image.layers[0]!.digest);
    assert.deepEqual(entries[8]!.detail, { label: 'ci', id: 'k1' });
    const gc = entries[12]!;
    assert.equal(gc.user, null, 'Berth itself removed it');
    assert.equal(gc.repo, 'team/old');
    assert.deepEqual(gc.detail, { reason: 'untagged', dryRun: false });
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('is not registered, and writes nothing, without log.audit', async () => {
    const t = await startTestApp({}, { extensions: [auditExtension()] });
    running = t;
    assert.equal(t.app.extensions.length, 0);
    assert.equal(auditLogFor(t.app).enabled, false);
    auditLogFor(t.app).record({ action: 'auth.signin', user: 'x' });
    assert.equal(existsSync(path.join(t.root, 'audit.jsonl')), false);
  });

  it('turns denials into access.denied and ignores the anonymous challenge round trip', () => {
    assert.deepEqual(
      auditActionOf(record({ status: 403, method: 'PUT', route: 'manifest', path: '/v2/a/manifests/v1' })),
      {
        action: 'access.denied',
      },
    );
    assert.equal(
      auditActionOf(record({ status: 401, method: 'POST', route: 'uploads', path: '/v2/a/blobs/uploads/' })),
      undefined,
    );
    assert.equal(
      auditActionOf(record({ status: 202, method: 'PATCH', route: 'upload', path: '/v2/a/blobs/uploads/x' })),
      undefined,
    );
    assert.equal(
      auditActionOf(record({ status: 202, method: 'POST', route: 'uploads', path: '/v2/a/blobs/uploads/' })),
      undefined,
    );
    assert.deepEqual(
      auditActionOf(record({ status: 201, method: 'POST', route: 'uploads', path: '/v2/a/blobs/uploads/' })),
      {
        action: 'blob.push',
      },
    );
  });
});
