/**
 * The contract every storage driver must pass. A driver's own test file calls
 * `describeDriverContract` with a factory for a fresh, empty driver.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { StorageDriver } from './driver.js';
import { AlreadyExistsError, InvalidPartError, InvalidPathError, PathNotFoundError } from './errors.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const MiB = 1024 * 1024;

/** A deterministic stream of `size` bytes that never sits in memory whole, with its sha256. */
function generated(size: number, seed: number): { stream: () => Readable; sha256: string } {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i += 4)
    block.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ seed) >>> 0, i);
  const chunk = (index: number, length: number): Buffer => {
    const b = Buffer.from(block.subarray(0, length));
    b.writeUInt32LE(index, 0);
    return b;
  };
  const hash = createHash('sha256');
  for (let offset = 0, index = 0; offset < size; offset += MiB, index++)
    hash.update(chunk(index, Math.min(MiB, size - offset)));
  return {
    sha256: hash.digest('hex'),
    stream: () =>
      Readable.from(
        (function* () {
          for (let offset = 0, index = 0; offset < size; offset += MiB, index++)
            yield chunk(index, Math.min(MiB, size - offset));
        })(),
      ),
  };
}

async function sha256Of(stream: Readable): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hex: hash.digest('hex'), size };
}

export interface ContractOptions {
  /** Bytes for the large-object cases (default 64 MiB). */
  largeSize?: number;
}

export function describeDriverContract(
  name: string,
  fresh: () => Promise<StorageDriver>,
  options: ContractOptions = {},
): void {
  const largeSize = options.largeSize ?? 64 * MiB;
  describe(`storage driver contract: ${name}`, () => {
    it('putContent then getContent returns the same bytes', async () => {
      const d = await fresh();
      await d.putContent('a/b/c.json', Buffer.from('{"x":1}'));
      assert.equal((await d.getContent('a/b/c.json')).toString(), '{"x":1}');
    });

    it('putContent replaces existing content whole', async () => {
      const d = await fresh();
      await d.putContent('f', Buffer.from('first version, longer'));
      await d.putContent('f', Buffer.from('second'));
      assert.equal((await d.getContent('f')).toString(), 'second');
    });

    it('getContent and stat of a missing path throw PathNotFoundError', async () => {
      const d = await fresh();
      await assert.rejects(d.getContent('nope'), PathNotFoundError);
      await assert.rejects(d.stat('nope/deeper'), PathNotFoundError);
      await assert.rejects(d.reader('nope'), PathNotFoundError);
    });

    it('refuses paths that could escape the root', async () => {
      const d = await fresh();
      for (const bad of ['../x', 'a/../../x', '/abs', 'a/./b', 'a\\b']) {
        await assert.rejects(d.getContent(bad), InvalidPathError, bad);
      }
    });

    it("a writer's file is invisible until commit, then whole; cancel leaves the old content", async () => {
      const d = await fresh();
      await d.putContent('w/f', Buffer.from('old'));
      const w = await d.writer('w/f');
      await pipeline(Readable.from([Buffer.from('new '), Buffer.from('content')]), w.stream);
      assert.equal((await d.getContent('w/f')).toString(), 'old', 'not visible before commit');
      assert.equal(w.size(), 11);
      await w.commit();
      assert.equal((await d.getContent('w/f')).toString(), 'new content');
      const c = await d.writer('w/f');
      c.stream.write(Buffer.from('partial'));
      await c.cancel();
      assert.equal((await d.getContent('w/f')).toString(), 'new content');
      const n = await d.writer('w/never');
      await n.cancel();
      await assert.rejects(d.stat('w/never'), PathNotFoundError);
      assert.deepEqual(await d.list('w'), ['f'], 'no temporary names are listed');
    });

    it('concurrent writers of one path: each commit lands whole, the last one wins', async () => {
      const d = await fresh();
      const a = Buffer.alloc(300_000, 'a');
      const b = Buffer.alloc(200_000, 'b');
      const [wa, wb] = await Promise.all([d.writer('same/path'), d.writer('same/path')]);
      // Interleave the two writers' chunks.
      for (let i = 0; i < 10; i++) {
        wa.stream.write(a.subarray(i * 30_000, (i + 1) * 30_000));
        wb.stream.write(b.subarray(i * 20_000, (i + 1) * 20_000));
      }
      await Promise.all([wa.commit(), wb.commit()]);
      const stored = await d.getContent('same/path');
      assert.ok(stored.equals(a) || stored.equals(b), "one writer's bytes, never a mix");
      const [p1, p2] = await Promise.all([
        d.putContent('same/small', Buffer.from('first')),
        d.putContent('same/small', Buffer.from('second')),
      ]);
      assert.equal(p1, p2);
      assert.ok(['first', 'second'].includes((await d.getContent('same/small')).toString()));
      assert.deepEqual(await d.list('same'), ['path', 'small']);
    });

    it('putContent with `after`: visible only once `after` resolves; nothing when it rejects', async () => {
      const d = await fresh();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const writing = d.putContent('after/f', Buffer.from('new'), { after: gate });
      // Give the write every chance to land early: it must still wait for the gate.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      await assert.rejects(d.getContent('after/f'), PathNotFoundError);
      release();
      await writing;
      assert.equal((await d.getContent('after/f')).toString(), 'new');
      const refused = d.putContent('after/f', Buffer.from('newer'), {
        after: Promise.reject(new Error('the other write failed')),
      });
      await assert.rejects(refused, /the other write failed/);
      assert.equal((await d.getContent('after/f')).toString(), 'new');
      assert.deepEqual(await d.list('after'), ['f']);
    });

    it('create-if-absent: exactly one of several concurrent creators wins', async () => {
      const d = await fresh();
      await d.putContent('c/x', Buffer.from('one'), { ifAbsent: true });
      await assert.rejects(d.putContent('c/x', Buffer.from('two'), { ifAbsent: true }), AlreadyExistsError);
      assert.equal((await d.getContent('c/x')).toString(), 'one');
      const results = await Promise.allSettled(
        ['a', 'b', 'c', 'd'].map((v) => d.putContent('c/race', Buffer.from(v), { ifAbsent: true })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof AlreadyExistsError);
      const w = await d.writer('c/x', { ifAbsent: true });
      await pipeline(Readable.from([Buffer.from('three')]), w.stream);
      await assert.rejects(w.commit(), AlreadyExistsError);
      assert.equal((await d.getContent('c/x')).toString(), 'one');
      const fresh2 = await d.writer('c/y', { ifAbsent: true });
      await pipeline(Readable.from([Buffer.from('y')]), fresh2.stream);
      await fresh2.commit();
      assert.equal((await d.getContent('c/y')).toString(), 'y');
      assert.deepEqual(await d.list('c'), ['race', 'x', 'y']);
    });

    it('zero-byte objects exist, list, stat and read as empty', async () => {
      const d = await fresh();
      await d.putContent('z/put', new Uint8Array());
      const w = await d.writer('z/writer');
      await w.commit();
      const id = await d.startParts('z/parts');
      await d.completeParts('z/parts', id, []);
      const id2 = await d.startParts('z/emptypart');
      const part = await d.writePart('z/emptypart', id2, 1, Readable.from([]));
      assert.equal(part.size, 0);
      await d.completeParts('z/emptypart', id2, [part]);
      for (const p of ['z/put', 'z/writer', 'z/parts', 'z/emptypart']) {
        const info = await d.stat(p);
        assert.equal(info.size, 0, p);
        assert.equal(info.isDirectory, false, p);
        assert.equal((await d.getContent(p)).length, 0, p);
        assert.equal((await readAll(await d.reader(p))).length, 0, p);
      }
      assert.deepEqual(await d.list('z'), ['emptypart', 'parts', 'put', 'writer']);
    });

    it('multipart: parts of any size, written out of order, assemble in number order', async () => {
      const d = await fresh();
      const id = await d.startParts('m/blob');
      const p3 = await d.writePart('m/blob', id, 3, Readable.from([Buffer.from('!')]));
      const p1 = await d.writePart('m/blob', id, 1, Readable.from([Buffer.from('hello'), Buffer.from(' ')]));
      const p2 = await d.writePart('m/blob', id, 2, Readable.from([Buffer.from('world')]));
      assert.deepEqual([p1.size, p2.size, p3.size], [6, 5, 1]);
      await assert.rejects(d.stat('m/blob'), PathNotFoundError, 'nothing visible before completion');
      await d.completeParts('m/blob', id, [p1, p2, p3]);
      assert.equal((await d.getContent('m/blob')).toString(), 'hello world!');
      await assert.rejects(
        d.completeParts('m/blob', id, [p1]),
        PathNotFoundError,
        'a completed upload is gone',
      );
      await assert.rejects(
        d.writePart('m/blob', id, 4, Readable.from([Buffer.from('x')])),
        PathNotFoundError,
      );
      assert.deepEqual(await d.list('m'), ['blob']);
    });

    it('multipart: a rewritten part has a new etag, and only the listed writes count', async () => {
      const d = await fresh();
      const id = await d.startParts('m/re');
      const first = await d.writePart('m/re', id, 1, Readable.from([Buffer.from('aaa')]));
      const again = await d.writePart('m/re', id, 1, Readable.from([Buffer.from('bbbb')]));
      assert.notEqual(first.etag, again.etag);
      const p2 = await d.writePart('m/re', id, 2, Readable.from([Buffer.from('c')]));
      await assert.rejects(
        d.completeParts('m/re', id, [{ ...first, etag: 'not-a-part' }, p2]),
        InvalidPartError,
      );
      await assert.rejects(d.completeParts('m/re', id, [p2, again]), InvalidPartError, 'numbers must ascend');
      await d.completeParts('m/re', id, [again, p2]);
      assert.equal((await d.getContent('m/re')).toString(), 'bbbbc');
    });

    it('multipart: concurrent uploads of one path and concurrent writes of one part never mix', async () => {
      const d = await fresh();
      const [u1, u2] = await Promise.all([d.startParts('m/shared'), d.startParts('m/shared')]);
      assert.notEqual(u1, u2);
      const a = Buffer.alloc(700_000, 'a');
      const b = Buffer.alloc(500_000, 'b');
      const [pa, pb, pa2] = await Promise.all([
        d.writePart('m/shared', u1, 1, Readable.from([a.subarray(0, 350_000), a.subarray(350_000)])),
        d.writePart('m/shared', u2, 1, Readable.from([b.subarray(0, 250_000), b.subarray(250_000)])),
        d.writePart('m/shared', u1, 1, Readable.from([b.subarray(0, 100), b.subarray(100, 200)])),
      ]);
      await d.completeParts('m/shared', u1, [pa]);
      assert.ok((await d.getContent('m/shared')).equals(a));
      await d.completeParts('m/shared', u2, [pb]);
      assert.ok((await d.getContent('m/shared')).equals(b));
      assert.equal(pa2.size, 200);
      assert.deepEqual(await d.list('m'), ['shared']);
    });

    it('multipart: abort drops the parts and is idempotent', async () => {
      const d = await fresh();
      const id = await d.startParts('m/gone');
      await d.writePart('m/gone', id, 1, Readable.from([Buffer.from('x')]));
      await d.abortParts('m/gone', id);
      await d.abortParts('m/gone', id);
      await assert.rejects(
        d.writePart('m/gone', id, 2, Readable.from([Buffer.from('y')])),
        PathNotFoundError,
      );
      await assert.rejects(d.stat('m/gone'), PathNotFoundError);
      assert.deepEqual(await d.list('m'), []);
    });

    it('listings over 1,000 entries come in pages, in byte order, without gaps or repeats', async () => {
      const d = await fresh();
      const names: string[] = [];
      for (let i = 0; i < 1234; i++) names.push(`n${String(i).padStart(5, '0')}`);
      names.push('Upper', '_under', 'z-last');
      for (let i = 0; i < names.length; i += 64) {
        await Promise.all(names.slice(i, i + 64).map((n) => d.putContent(`big/${n}`, Buffer.from(n))));
      }
      await d.putContent('big/sub/inner', Buffer.from('x'));
      const expected = [...names, 'sub'].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await d.listPage('big', { limit: 500, ...(after === undefined ? {} : { after }) });
        assert.ok(page.names.length <= 500);
        seen.push(...page.names);
        pages++;
        if (page.next === undefined) break;
        after = page.next;
      }
      assert.ok(pages >= 3, `${pages} pages`);
      assert.deepEqual(seen, expected);
      assert.deepEqual(await d.list('big'), expected);
      const first = await d.listPage('big');
      assert.ok(first.names.length <= 1000 && first.next !== undefined, 'the default page is at most 1,000');
      assert.deepEqual((await d.listPage('big', { after: 'z-last' })).names, []);
      assert.deepEqual((await d.listPage('missing')).names, []);
    });

    it(`large objects (${largeSize / MiB} MiB) stream through writer, parts, reader and range reads`, async () => {
      const d = await fresh();
      const big = generated(largeSize, 1);
      const w = await d.writer('large/one');
      await pipeline(big.stream(), w.stream);
      await w.commit();
      assert.equal((await d.stat('large/one')).size, largeSize);
      assert.deepEqual(await sha256Of(await d.reader('large/one')), { hex: big.sha256, size: largeSize });
      const tail = await readAll(await d.reader('large/one', { offset: largeSize - 10 }));
      assert.equal(tail.length, 10);

      const other = generated(largeSize, 2);
      const half = Math.floor(largeSize / 2);
      const id = await d.startParts('large/two');
      // Split one generated stream into two parts at `half`, without holding either in memory.
      const source = (other.stream() as AsyncIterable<Buffer, undefined>)[Symbol.asyncIterator]();
      const rest: Buffer[] = [];
      const firstHalf = async function* (): AsyncGenerator<Buffer> {
        for (let taken = 0; taken < half;) {
          const { value, done } = await source.next();
          if (done) return;
          const take = Math.min(value.length, half - taken);
          yield value.subarray(0, take);
          if (take < value.length) rest.push(value.subarray(take));
          taken += take;
        }
      };
      const secondHalf = async function* (): AsyncGenerator<Buffer> {
        yield* rest;
        for (;;) {
          const { value, done } = await source.next();
          if (done) return;
          yield value;
        }
      };
      const p1 = await d.writePart('large/two', id, 1, Readable.from(firstHalf()));
      const p2 = await d.writePart('large/two', id, 2, Readable.from(secondHalf()));
      assert.equal(p1.size + p2.size, largeSize);
      await d.completeParts('large/two', id, [p1, p2]);
      assert.deepEqual(await sha256Of(await d.reader('large/two')), { hex: other.sha256, size: largeSize });
    });

    it('reader honours offset and length', async () => {
      const d = await fresh();
      await d.putContent('r', Buffer.from('0123456789'));
      assert.equal((await readAll(await d.reader('r', { offset: 3, length: 4 }))).toString(), '3456');
      assert.equal((await readAll(await d.reader('r', { offset: 7 }))).toString(), '789');
      assert.equal((await readAll(await d.reader('r', { offset: 2, length: 0 }))).length, 0);
    });

    it('copyTo, when the driver has it, writes the whole file or a range and opens before writing', async () => {
      const d = await fresh();
      if (!d.copyTo) return;
      const data = Buffer.alloc(1_300_000, 7);
      data.write('start', 0);
      data.write('end', data.length - 3);
      await d.putContent('big', data);
      const collect = (): { sink: Writable; bytes: () => Buffer } => {
        const chunks: Buffer[] = [];
        const sink = new Writable({
          write(chunk: Buffer, _enc, cb) {
            chunks.push(Buffer.from(chunk));
            cb();
          },
        });
        return { sink, bytes: () => Buffer.concat(chunks) };
      };
      const whole = collect();
      let opened = 0;
      await d.copyTo('big', whole.sink, { onOpen: () => opened++ });
      assert.equal(opened, 1);
      assert.ok(whole.bytes().equals(data));
      const part = collect();
      await d.copyTo('big', part.sink, { offset: 1_299_990, length: 10 });
      assert.equal(part.bytes().toString('latin1').slice(-3), 'end');
      assert.equal(part.bytes().length, 10);
      let openedMissing = 0;
      await assert.rejects(
        d.copyTo('missing', collect().sink, { onOpen: () => openedMissing++ }),
        PathNotFoundError,
      );
      assert.equal(openedMissing, 0);
    });

    it('list returns sorted children and [] for a missing folder', async () => {
      const d = await fresh();
      await d.putContent('dir/b', Buffer.from('1'));
      await d.putContent('dir/a', Buffer.from('2'));
      await d.putContent('dir/sub/c', Buffer.from('3'));
      assert.deepEqual(await d.list('dir'), ['a', 'b', 'sub']);
      assert.deepEqual(await d.list('missing'), []);
      assert.equal((await d.stat('dir/sub')).isDirectory, true);
    });

    it('move replaces the destination atomically and fails for a missing source', async () => {
      const d = await fresh();
      await d.putContent('src', Buffer.from('new'));
      await d.putContent('dst/x', Buffer.from('old'));
      await d.move('src', 'dst/x');
      assert.equal((await d.getContent('dst/x')).toString(), 'new');
      await assert.rejects(d.stat('src'), PathNotFoundError);
      await assert.rejects(d.move('src', 'dst/y'), PathNotFoundError);
    });

    it('delete removes files and trees and ignores missing paths', async () => {
      const d = await fresh();
      await d.putContent('t/a/b', Buffer.from('1'));
      await d.delete('t');
      assert.deepEqual(await d.list('t'), []);
      await d.delete('t');
    });

    it('link shares content, or says it cannot', async () => {
      const d = await fresh();
      await d.putContent('one/blob', Buffer.from('shared'));
      const linked = await d.link('one/blob', 'two/blob');
      if (linked) {
        assert.equal((await d.getContent('two/blob')).toString(), 'shared');
        await d.delete('one/blob');
        assert.equal((await d.getContent('two/blob')).toString(), 'shared', 'the other name survives');
      }
      await assert.rejects(d.link('missing', 'three/blob'), PathNotFoundError);
    });
  });
}
