/**
 * `berth scrub CONFIG` with the real binary: exit 0 on a healthy store; a corrupted blob planted on
 * disk makes it exit 1 naming the repository and the digest. Read-only, so it runs beside the server.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../support/clients.js';
import { digestHex, makeImage, pushContent } from '../support/fixtures.js';
import { CLI, startBerth, type RunningServer } from '../support/server.js';

describe('berth scrub (real binary)', () => {
  let server: RunningServer;
  const healthy = makeImage();
  const victim = makeImage({ layerSizes: [4096] });

  before(async () => {
    server = await startBerth();
    await pushContent(server.url, 'ok/app', healthy, 'v1');
    await pushContent(server.url, 'rotting/app', victim, 'v1');
  });
  after(async () => {
    await server?.stop();
  });

  it('exits 0 and says the store is clean', async () => {
    const result = await run(process.execPath, [CLI, 'scrub', server.configPath]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /scrub: 2 repositories clean; 6 objects/);
  });

  it('exits 1 and names the repository and digest of a blob whose bytes rotted', async () => {
    const layer = victim.layers[0]!;
    const file = path.join(server.root, 'rotting/app', 'blobs', 'sha256', digestHex(layer.digest));
    const rotten = Buffer.from(layer.bytes);
    rotten[100] = rotten[100]! ^ 0xff;
    await writeFile(file, rotten);

    const result = await run(process.execPath, [CLI, 'scrub', server.configPath]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^rotting/app\\n  corrupt    ${layer.digest}: content hashes to sha256:`, 'm'),
    );
    assert.doesNotMatch(result.stdout, /^ok\/app$/m);

    const json = await run(process.execPath, [
      CLI,
      'scrub',
      server.configPath,
      '--json',
      '--repository',
      'ok/app',
    ]);
    assert.equal(json.code, 0, 'the healthy repository alone is clean');
    const report = JSON.parse(json.stdout) as { repositories: { repo: string }[]; problems: unknown[] };
    assert.deepEqual(
      report.repositories.map((r) => r.repo),
      ['ok/app'],
    );
  });
});
