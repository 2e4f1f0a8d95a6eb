/**
 * The contract every `UploadSessions` implementation passes. The factory returns two views of one
 * fresh, empty store — for a shared store, two separate connections, as two processes would hold.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { UploadSessions } from './upload-sessions.js';

export function describeUploadSessionsContract(
  name: string,
  fresh: () => Promise<[UploadSessions, UploadSessions]>,
): void {
  describe(`upload sessions contract: ${name}`, () => {
    it('a new session is at offset 0, version 1, with no parts, storage, state or writer', async () => {
      const [a, b] = await fresh();
      const id = randomUUID();
      const created = await a.create({ id, repository: 'team/app', algorithm: 'sha256' });
      assert.equal(created.version, 1);
      const seen = await b.get(id);
      assert.ok(seen);
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
      await assert.rejects(b.create({ id, repository: 'other', algorithm: 'sha256' }));
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
      const seen = await b.get(id);
      assert.ok(seen);
      assert.equal(seen.offset, 10);
      assert.deepEqual(seen.parts, parts);
      assert.deepEqual([...(seen.hashState ?? [])], [1, 2, 3, 250]);
      assert.deepEqual(seen.storage, { path: 'r/.uploads/x', uploadId: 'u1' });
      assert.deepEqual(seen.writer, { token: 't', until: 123 });
      assert.equal(seen.algorithm, 'sha512');
      const cleared = await b.update(id, 2, { writer: null, hashState: null });
      assert.ok(cleared);
      const again = await a.get(id);
      assert.equal(again?.writer, undefined);
      assert.equal(again?.hashState, undefined);
      assert.equal(again?.offset, 10, 'absent fields keep their value');
      assert.equal(again?.version, 3);
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
      assert.equal((await a.get(id))?.writer?.token, winners[0]!.writer?.token);
    });

    it('delete removes the session, conditionally on version when asked', async () => {
      const [a, b] = await fresh();
      const id = randomUUID();
      await a.create({ id, repository: 'r', algorithm: 'sha256' });
      await a.update(id, 1, { offset: 5 });
      assert.equal(await b.delete(id, 1), false, 'stale version');
      assert.ok(await b.get(id));
      assert.equal(await b.delete(id, 2), true);
      assert.equal(await a.get(id), undefined);
      assert.equal(await a.delete(id), false);
      assert.equal(await a.update(id, 2, { offset: 1 }), undefined, 'a deleted session cannot be updated');
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
