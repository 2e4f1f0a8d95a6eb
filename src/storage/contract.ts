/**
 * The contract every storage driver must pass. A driver's own test file calls
 * `describeDriverContract` with a factory for a fresh, empty driver.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import type { StorageDriver } from './driver.js';
import { InvalidPathError, PathNotFoundError } from './errors.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function describeDriverContract(name: string, fresh: () => Promise<StorageDriver>): void {
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

    it('writer appends across sessions and reports the size', async () => {
      const d = await fresh();
      const w1 = await d.writer('up/1', { append: false });
      await pipeline(Readable.from([Buffer.from('hello ')]), w1.stream);
      await w1.close();
      assert.equal(w1.size(), 6);
      const w2 = await d.writer('up/1', { append: true });
      await pipeline(Readable.from([Buffer.from('world')]), w2.stream);
      await w2.commit();
      assert.equal(w2.size(), 11);
      assert.equal((await d.getContent('up/1')).toString(), 'hello world');
      assert.equal((await d.stat('up/1')).size, 11);
    });

    it('writer.cancel removes the file', async () => {
      const d = await fresh();
      const w = await d.writer('up/2', { append: false });
      w.stream.write(Buffer.from('partial'));
      await w.cancel();
      await assert.rejects(d.stat('up/2'), PathNotFoundError);
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
      await assert.rejects(d.copyTo('missing', collect().sink, { onOpen: () => openedMissing++ }), PathNotFoundError);
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
