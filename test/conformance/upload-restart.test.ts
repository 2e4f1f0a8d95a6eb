/**
 * Resumable push: an upload session outlives the registry process. A client that started an
 * upload and sent a chunk can, after the registry restarts on the same storage, ask for the
 * offset (GET, 204 with Range) and finish the upload with the Location it already holds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  assertStatus,
  digestOf,
  locationOf,
  randomBlob,
  removeRoot,
  send,
  startTarget,
  startUpload,
  uniqueRepo,
  withQuery,
  type Target,
} from './helpers.js';

/** Starts an upload, sends its first chunk, restarts the registry the given way, finishes the upload. */
async function resumeAcrossRestart(how: 'stop' | 'kill'): Promise<void> {
  let target: Target = await startTarget({ keepRoot: true });
  const root = target.root;
  try {
    const repo = uniqueRepo('resume');
    const bytes = randomBlob(3 * 1024 * 1024);
    const first = await send(await startUpload(target.url, repo), {
      method: 'PATCH',
      headers: { 'content-range': `0-${1024 * 1024 - 1}`, 'content-type': 'application/octet-stream' },
      body: bytes.subarray(0, 1024 * 1024),
    });
    assertStatus(first, 202);
    const location = locationOf(first);

    await (how === 'stop' ? target.stop() : target.kill());
    target = await startTarget({ root, port: target.port, keepRoot: true });

    const status = await send(location);
    assert.equal(status.status, 204, status.describe());
    assert.equal(status.header('range'), `0-${1024 * 1024 - 1}`);
    const second = await send(locationOf(status), {
      method: 'PATCH',
      headers: {
        'content-range': `${1024 * 1024}-${2 * 1024 * 1024 - 1}`,
        'content-type': 'application/octet-stream',
      },
      body: bytes.subarray(1024 * 1024, 2 * 1024 * 1024),
    });
    assert.equal(second.status, 202, second.describe());
    const put = await send(withQuery(locationOf(second), { digest: digestOf(bytes) }), {
      method: 'PUT',
      headers: {
        'content-range': `${2 * 1024 * 1024}-${bytes.length - 1}`,
        'content-type': 'application/octet-stream',
      },
      body: bytes.subarray(2 * 1024 * 1024),
    });
    assert.equal(put.status, 201, put.describe());
    const pulled = await send(`${target.url}/v2/${repo}/blobs/${digestOf(bytes)}`);
    assert.equal(pulled.status, 200, pulled.describe());
    assert.equal(digestOf(pulled.body), digestOf(bytes));
  } finally {
    await target.stop();
    await removeRoot(root);
  }
}

describe('upload sessions across a restart', () => {
  it('an upload started before a graceful restart (SIGTERM) resumes and completes', async () => {
    await resumeAcrossRestart('stop');
  });

  it('an upload started before a crash (SIGKILL) resumes and completes', async () => {
    await resumeAcrossRestart('kill');
  });
});
