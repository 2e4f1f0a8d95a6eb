/**
 * Determining support: `GET /v2/` (end-1), and the answers to requests the API does not define.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { assertError, send, startTarget, uniqueRepo, type Target } from './helpers.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target?.stop();
});

describe('GET /v2/ (end-1)', () => {
  it('answers 200 OK: the registry implements the specification', async () => {
    const reply = await send(`${target.url}/v2/`);
    assert.equal(reply.status, 200, reply.describe());
  });

  it('carries Docker-Distribution-API-Version: registry/2.0', async () => {
    const reply = await send(`${target.url}/v2/`);
    assert.equal(reply.header('docker-distribution-api-version'), 'registry/2.0', reply.describe());
  });

  it('answers HEAD with 200 and no body', async () => {
    const reply = await send(`${target.url}/v2/`, { method: 'HEAD' });
    assert.equal(reply.status, 200, reply.describe());
    assert.equal(reply.body.length, 0);
  });
});

describe('methods the API does not define', () => {
  it('POST on a manifest URL is refused with 405 UNSUPPORTED', async () => {
    const reply = await send(`${target.url}/v2/${uniqueRepo('base')}/manifests/latest`, {
      method: 'POST',
      body: '{}',
    });
    assertError(reply, 405, 'UNSUPPORTED');
  });

  it('PATCH on a blob URL is refused with 405 UNSUPPORTED', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const reply = await send(`${target.url}/v2/${uniqueRepo('base')}/blobs/${digest}`, {
      method: 'PATCH',
      body: 'x',
    });
    assertError(reply, 405, 'UNSUPPORTED');
  });
});
