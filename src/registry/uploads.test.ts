/**
 * Upload sessions continued by several "processes": registry instances sharing one storage driver
 * and one session store (as processes share a data directory), with the digest's state either kept
 * in the record or only in the process that wrote the last chunk.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { openSqliteStore } from '../meta/sqlite/store.js';
import { MemoryUploadSessions } from '../meta/memory/upload-sessions.js';
import { MemoryDriver } from '../storage/memory/driver.js';
import { Registry } from './registry.js';
import { UNTOUCHED_UPLOAD_TTL_MS, UploadIdSigner } from './upload-ids.js';

const log = pino({ level: 'silent' });

/** Registry "processes" sharing one storage driver and one session store (returned too). */
function sharedProcesses(
  count: number,
  persistHashState: boolean,
): { procs: Registry[]; sessions: MemoryUploadSessions } {
  const driver = new MemoryDriver();
  const sessions = new MemoryUploadSessions();
  const procs = Array.from({ length: count }, () => {
    const { meta, coordination } = openSqliteStore(':memory:');
    return new Registry({
      driver,
      index: meta.registryIndex,
      coordination,
      dedupe: false,
      log,
      uploadSessions: sessions,
      persistHashState,
    });
  });
  return { procs, sessions };
}

function processes(count: number, persistHashState: boolean): Registry[] {
  return sharedProcesses(count, persistHashState).procs;
}

async function readBlob(reg: Registry, repo: string, digest: string): Promise<Buffer> {
  return reg.blobs.read(repo, parseDigest(digest));
}

for (const persistHashState of [false, true]) {
  describe(`uploads across processes (hash state ${persistHashState ? 'in the record' : 'in the writing process'})`, () => {
    it('chunks alternating between processes, closed by either, give the right blob', async () => {
      for (const closer of [0, 1]) {
        const procs = processes(2, persistHashState);
        const data = randomBytes(300_000);
        const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
        const id = await procs[0]!.uploads.start('r');
        let offset = 0;
        for (let i = 0; offset < data.length; i++) {
          const chunk = data.subarray(offset, offset + 70_000);
          const reg = procs[i % 2]!;
          offset = await reg.uploads.append('r', id, Readable.from([chunk]), {
            range: { start: offset, end: offset + chunk.length - 1 },
          });
        }
        assert.equal(await procs[1 - closer]!.uploads.offset('r', id), data.length);
        const info = await procs[closer]!.uploads.complete('r', id, parseDigest(digest), undefined);
        assert.deepEqual(info, { digest, size: data.length });
        assert.ok((await readBlob(procs[0]!, 'r', digest)).equals(data));
      }
    });

    it('a session written by one process and closed by the same one, or with a last chunk', async () => {
      const [a, b] = processes(2, persistHashState);
      const data = randomBytes(100_000);
      const digest = parseDigest(`sha256:${createHash('sha256').update(data).digest('hex')}`);
      const id = await a!.uploads.start('r');
      await a!.uploads.append('r', id, Readable.from([data.subarray(0, 60_000)]));
      await b!.uploads.complete('r', id, digest, Readable.from([data.subarray(60_000)]), {
        contentLength: 40_000,
      });
      assert.ok((await readBlob(a!, 'r', digest.value)).equals(data));
    });

    it('a wrong digest discards the session; a stale range answers 416', async () => {
      const [a, b] = processes(2, persistHashState);
      const id = await a!.uploads.start('r');
      await a!.uploads.append('r', id, Readable.from([Buffer.from('hello')]), {
        range: { start: 0, end: 4 },
      });
      await assert.rejects(
        b!.uploads.append('r', id, Readable.from([Buffer.from('hello')]), { range: { start: 0, end: 4 } }),
        (err: unknown) => err instanceof RegistryError && err.code === 'RANGE_NOT_SATISFIABLE',
      );
      const wrong = parseDigest(`sha256:${'0'.repeat(64)}`);
      await assert.rejects(
        b!.uploads.complete('r', id, wrong, undefined),
        (err: unknown) => err instanceof RegistryError && err.code === 'DIGEST_INVALID',
      );
      await assert.rejects(
        a!.uploads.offset('r', id),
        (err: unknown) => err instanceof RegistryError && err.code === 'BLOB_UPLOAD_UNKNOWN',
      );
    });

    it('a wrong sha512 digest on a session hashed as sha256 names the sha512 it got', async () => {
      const [a] = processes(1, persistHashState);
      const data = Buffer.from('hello');
      const id = await a!.uploads.start('r');
      await a!.uploads.append('r', id, Readable.from([data]));
      const wrong = parseDigest(`sha512:${'0'.repeat(128)}`);
      const actual = `sha512:${createHash('sha512').update(data).digest('hex')}`;
      await assert.rejects(a!.uploads.complete('r', id, wrong, undefined), (err: unknown) => {
        assert.ok(err instanceof RegistryError && err.code === 'DIGEST_INVALID');
        assert.match(err.message, new RegExp(`upload digest is ${actual}, not`));
        return true;
      });
    });
  });
}

describe('sessions before their first byte (signed ids, no record)', () => {
  const shared = (): { procs: Registry[]; sessions: MemoryUploadSessions } => sharedProcesses(2, false);
  const unknown = (err: unknown): boolean =>
    err instanceof RegistryError && err.code === 'BLOB_UPLOAD_UNKNOWN';
  const blob = (text: string): { data: Buffer; digest: ReturnType<typeof parseDigest> } => {
    const data = Buffer.from(text);
    return { data, digest: parseDigest(`sha256:${createHash('sha256').update(data).digest('hex')}`) };
  };

  it('a POST writes no record; another process continues the session; a finished id is refused', async () => {
    const { procs, sessions } = shared();
    const [a, b] = procs as [Registry, Registry];
    const id = await a.uploads.start('r');
    assert.equal(await sessions.get(id), undefined, 'nothing recorded at POST');
    assert.equal(await b.uploads.offset('r', id), 0);
    const { data, digest } = blob('one request');
    assert.deepEqual(await b.uploads.complete('r', id, digest, Readable.from([data])), {
      digest: digest.value,
      size: data.length,
    });
    assert.equal(await sessions.get(id), 'finished');
    await assert.rejects(a.uploads.offset('r', id), unknown);
    await assert.rejects(a.uploads.append('r', id, Readable.from([data])), unknown);
    await assert.rejects(b.uploads.complete('r', id, digest, Readable.from([data])), unknown);
  });

  it('an id of another repository, one not signed by the store, or one too old is unknown', async () => {
    const { procs, sessions } = shared();
    const [a] = procs as [Registry];
    const id = await a.uploads.start('r');
    await assert.rejects(a.uploads.offset('other', id), unknown);
    const forged = new UploadIdSigner(new Uint8Array(32)).issue('r', 'sha256', Date.now());
    await assert.rejects(a.uploads.offset('r', forged), unknown);
    await assert.rejects(a.uploads.offset('r', randomUUID()), unknown);
    const signer = new UploadIdSigner(await sessions.idKey());
    const young = signer.issue('r', 'sha256', Date.now() - UNTOUCHED_UPLOAD_TTL_MS + 60_000);
    assert.equal(await a.uploads.offset('r', young), 0);
    const old = signer.issue('r', 'sha256', Date.now() - UNTOUCHED_UPLOAD_TTL_MS - 1);
    await assert.rejects(a.uploads.offset('r', old), unknown);
  });

  it('the first chunk records the session; of two first chunks at once, one wins and one answers 416', async () => {
    const { procs, sessions } = shared();
    const [a, b] = procs as [Registry, Registry];
    const id = await a.uploads.start('r', 'sha512');
    const results = await Promise.allSettled([
      a.uploads.append('r', id, Readable.from([Buffer.from('aaaa')]), { range: { start: 0, end: 3 } }),
      b.uploads.append('r', id, Readable.from([Buffer.from('bbbb')]), { range: { start: 0, end: 3 } }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    const reason = (lost[0] as PromiseRejectedResult).reason as unknown;
    assert.ok(reason instanceof RegistryError && reason.code === 'RANGE_NOT_SATISFIABLE');
    const recorded = await sessions.get(id);
    assert.ok(typeof recorded === 'object');
    assert.equal(recorded.offset, 4);
    assert.equal(recorded.algorithm, 'sha512', 'the algorithm came from the id');
  });

  it('cancelling an untouched session leaves a tombstone: a second cancel is unknown', async () => {
    const { procs } = shared();
    const [a, b] = procs as [Registry, Registry];
    const id = await a.uploads.start('r');
    await b.uploads.cancel('r', id);
    await assert.rejects(a.uploads.cancel('r', id), unknown);
    await assert.rejects(a.uploads.offset('r', id), unknown);
  });

  it('a wrong digest on an untouched session finishes it; tombstones are purged only once their ids expired', async () => {
    const { procs, sessions } = shared();
    const [a] = procs as [Registry];
    const id = await a.uploads.start('r');
    const { data } = blob('content');
    await assert.rejects(
      a.uploads.complete('r', id, blob('other').digest, Readable.from([data])),
      (err: unknown) => err instanceof RegistryError && err.code === 'DIGEST_INVALID',
    );
    await assert.rejects(a.uploads.offset('r', id), unknown);
    assert.equal(await a.uploads.purgeFinished(Date.now()), 0, 'too young to purge');
    assert.equal(await sessions.get(id), 'finished');
    assert.equal(await a.uploads.purgeFinished(Date.now() + 2 * UNTOUCHED_UPLOAD_TTL_MS), 1);
    assert.equal(await sessions.get(id), undefined);
  });
});
