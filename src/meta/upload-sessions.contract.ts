/**
 * The contract every `UploadSessions` implementation passes. The factory returns two views of one
 * fresh, empty store — for a shared store, two separate connections, as two processes would hold.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { UploadSession, UploadSessions } from './upload-sessions.js';

/** The live record, failing the test for a tombstone or nothing. */
async function live(store: UploadSessions, id: string): Promise<UploadSession> {
  const seen = await store.get(id);
  assert.ok(typeof seen === 'object', `session ${id} is live`);
  return seen;
}

export function describeUploadSessionsContract(
  name: string,
  fresh: () => Promise<[UploadSessions, UploadSessions]>,
): void {
  describe(`upload sessions contract: ${name}`, () => {
    it('a new session is at offset 0, version 1, with no parts, storage, state or writer', async () => {
      const [a, b] = await fresh();
      const id = randomUUID();
      const created = await a.create({ id, repository: 'team/app', algorithm: 'sha256' });
      assert.equal(created?.version, 1);
      const seen = await live(b, id);
      assert.deepEqual(
        { ...seen, createdAt: 0, updatedAt: 0 },
        {
          id,
          repository: 'team/app',
          algorithm: 'sha256',
          offset: 0,
          parts: [],
          hashedBytes: 0,
          nextPart: 1,
          version: 1,
          createdAt: 0,
          updatedAt: 0,
        },
      );
      assert.equal(await b.get(randomUUID()), undefined);
      assert.equal(
        await b.create({ id, repository: 'other', algorithm: 'sha256' }),
        undefined,
        'the id exists',
      );
      assert.equal((await live(a, id)).repository, 'team/app');
    });

    it('create keeps the issue time and takes the first claim in the same write', async () => {
      const [a, b] = await fresh();
      const id = randomUUID();
      const writer = { token: 'first', until: Date.now() + 1000 };
      const created = await a.create({ id, repository: 'r', algorithm: 'sha256', createdAt: 1234, writer });
      assert.equal(created?.createdAt, 1234);
      const seen = await live(b, id);
      assert.equal(seen.createdAt, 1234);
      assert.deepEqual(seen.writer, writer);
      assert.ok(seen.updatedAt >= Date.now() - 60_000, 'updatedAt is the time of the write');
    });

    it('of concurrent creates of one id, exactly one wins', async () => {
      const [a, b] = await fresh();
      const id = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? a : b).create({
            id,
            repository: 'r',
            algorithm: 'sha256',
            writer: { token: `t${i}`, until: 1 },
          }),
        ),
      );
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      assert.equal((await live(a, id)).writer?.token, winners[0]!.writer?.token);
    });

    it('update is a compare-and-swap on version, visible to the other view', async () => {
      const [a, b] = await fresh();
      const id = randomUUID();
      await a.create({ id, repository: 'r', algorithm: 'sha512' });
      const state = new Uint8Array([1, 2, 3, 250]);
      const parts = [{ number: 1, size: 10, etag: 'e1' }];
      const next = await a.update(id, 1, {
        offset: 10,
        parts,
        hashState: state,
        hashedBytes: 10,
        nextPart: 2,
        storage: { path: 'r/.uploads/x', uploadId: 'u1' },
        writer: { token: 't', until: 123 },
      });
      assert.equal(next?.version, 2);
      assert.equal(await b.update(id, 1, { offset: 99 }), undefined, 'a stale version loses');
      const seen = await live(b, id);
      assert.equal(seen.offset, 10);
      assert.deepEqual(seen.parts, parts);
      assert.deepEqual([...(seen.hashState ?? [])], [1, 2, 3, 250]);
      assert.deepEqual(seen.storage, { path: 'r/.uploads/x', uploadId: 'u1' });
      assert.deepEqual(seen.writer, { token: 't', until: 123 });
      assert.equal(seen.algorithm, 'sha512');
      const cleared = await b.update(id, 2, { writer: null, hashState: null });
      assert.ok(cleared);
      const again = await live(a, id);
      assert.equal(again.writer, undefined);
      assert.equal(again.hashState, undefined);
      assert.equal(again.offset, 10, 'absent fields keep their value');
      assert.equal(again.version, 3);
    });

    it('of many concurrent swaps from one version, exactly one wins', async () => {
      const [a, b] = await fresh();
      const id = randomUUID();
      await a.create({ id, repository: 'r', algorithm: 'sha256' });
      const attempts = Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? a : b).update(id, 1, { writer: { token: `t${i}`, until: Date.now() + 1000 } }),
      );
      const results = await Promise.all(attempts);
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      assert.equal((await live(a, id)).writer?.token, winners[0]!.writer?.token);
    });

    it('finish leaves a tombstone, conditionally on version when asked', async () => {
      const [a, b] = await fresh();
      const id = randomUUID();
      const ref = { id, repository: 'r', algorithm: 'sha256' as const, createdAt: Date.now() };
      await a.create({ id, repository: 'r', algorithm: 'sha256' });
      await a.update(id, 1, { offset: 5, storage: { path: 'p', uploadId: 'u' } });
      assert.equal(await b.finish(ref, 1), false, 'stale version');
      assert.equal(await b.finish(ref, 0), false, 'version 0 means never recorded');
      assert.ok(typeof (await b.get(id)) === 'object');
      assert.equal(await b.finish(ref, 2), true);
      assert.equal(await a.get(id), 'finished');
      assert.equal(await a.finish(ref), false, 'finished once');
      assert.equal(await a.update(id, 2, { offset: 1 }), undefined, 'a finished session cannot be updated');
      assert.equal(await a.update(id, 3, { offset: 1 }), undefined, 'whatever the version');
      assert.equal(
        await b.create({ id, repository: 'r', algorithm: 'sha256' }),
        undefined,
        'nor created again',
      );
      assert.deepEqual(await a.idle(Date.now() + 1000, 10), [], 'a tombstone is not idle');
    });

    it('finish of an id never recorded leaves a tombstone; with version 0 it loses to a record', async () => {
      const [a, b] = await fresh();
      const never = {
        id: randomUUID(),
        repository: 'r',
        algorithm: 'sha512' as const,
        createdAt: Date.now(),
      };
      assert.equal(await a.finish(never, 0), true);
      assert.equal(await b.get(never.id), 'finished');
      assert.equal(await b.create({ id: never.id, repository: 'r', algorithm: 'sha512' }), undefined);
      assert.equal(await b.finish(never, 0), false);

      const cancelled = { ...never, id: randomUUID() };
      assert.equal(await b.finish(cancelled), true, 'no version: whatever the state');
      assert.equal(await a.get(cancelled.id), 'finished');

      const raced = { ...never, id: randomUUID() };
      await a.create({ id: raced.id, repository: 'r', algorithm: 'sha512' });
      assert.equal(await b.finish(raced, 0), false, 'a record created meanwhile wins');
      assert.ok(typeof (await a.get(raced.id)) === 'object');
    });

    it('purgeFinished deletes old tombstones only, and then the id is unknown', async () => {
      const [a, b] = await fresh();
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      for (const id of ids)
        await a.finish({ id, repository: 'r', algorithm: 'sha256', createdAt: Date.now() });
      const liveId = randomUUID();
      await a.create({ id: liveId, repository: 'r', algorithm: 'sha256' });
      assert.equal(await b.purgeFinished(0, 10), 0, 'nothing finished before the epoch');
      assert.equal(await b.purgeFinished(Date.now() + 1000, 2), 2, 'at most the limit');
      assert.equal(await b.purgeFinished(Date.now() + 1000, 10), 1);
      for (const id of ids) assert.equal(await a.get(id), undefined);
      assert.ok(typeof (await a.get(liveId)) === 'object', 'live sessions stay');
    });

    it('idKey is made once and is the same through every view', async () => {
      const [a, b] = await fresh();
      const [k1, k2] = await Promise.all([a.idKey(), b.idKey()]);
      assert.equal(k1.length, 32);
      assert.deepEqual([...k1], [...k2]);
      assert.deepEqual([...(await a.idKey())], [...k1]);
      assert.ok(k1.some((byte) => byte !== 0));
    });

    it('idle lists sessions untouched since a time, oldest first', async () => {
      const [a, b] = await fresh();
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      for (const id of ids) {
        await a.create({ id, repository: 'r', algorithm: 'sha256' });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const cutoff = Date.now() + 1;
      const idle = await b.idle(cutoff, 10);
      assert.deepEqual(
        idle.map((s) => s.id),
        ids,
      );
      assert.equal((await b.idle(cutoff, 2)).length, 2);
      assert.deepEqual(await b.idle(0, 10), []);
    });
  });
}
