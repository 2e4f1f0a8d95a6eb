import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { zipArchive } from '../../../test/support/osv.js';
import { ZipFormatError, ZipReader } from './zip.js';

describe('ZipReader', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-zip-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const entries = [
    { name: 'A-1.json', content: Buffer.from('{"id":"A-1"}') },
    { name: 'dir/B-2.json', content: Buffer.from('x'.repeat(100_000)) },
    { name: 'empty.json', content: Buffer.alloc(0) },
  ];

  for (const zip64 of [false, true]) {
    it(`reads every entry of ${zip64 ? 'a ZIP64' : 'a classic'} archive`, async () => {
      const file = path.join(dir, `${zip64}.zip`);
      await writeFile(file, zipArchive(entries, { zip64 }));
      const zip = await ZipReader.open(file);
      try {
        assert.deepEqual(
          zip.entries.map((e) => [e.name, e.size]),
          entries.map((e) => [e.name, e.content.length]),
        );
        for (let i = 0; i < entries.length; i++) {
          assert.deepEqual(await zip.read(zip.entries[i]!, 1 << 20), entries[i]!.content);
        }
        await assert.rejects(zip.read(zip.entries[1]!, 1000), ZipFormatError);
        const all = [];
        for await (const { index, data } of zip.all(1000)) all.push([index, data?.toString()]);
        assert.deepEqual(all, [
          [0, '{"id":"A-1"}'],
          [1, undefined],
          [2, ''],
        ]);
      } finally {
        await zip.close();
      }
    });
  }

  it('refuses what is not a zip archive, or a truncated one', async () => {
    const notZip = path.join(dir, 'not.zip');
    await writeFile(notZip, '<html>not found</html>');
    await assert.rejects(ZipReader.open(notZip), ZipFormatError);
    const whole = zipArchive(entries);
    const truncated = path.join(dir, 'truncated.zip');
    await writeFile(truncated, Buffer.concat([whole.subarray(0, 40), whole.subarray(whole.length - 22)]));
    await assert.rejects(ZipReader.open(truncated), ZipFormatError);
  });
});
