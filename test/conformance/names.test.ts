/**
 * Names and tags: `<name>` must match
 * `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*` (else NAME_INVALID), and
 * a tag must match `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { makeImage } from '../support/fixtures.js';
import {
  assertError,
  assertStatus,
  pushAll,
  pushParts,
  putManifest,
  send,
  startTarget,
  uniqueRepo,
  type Target,
} from './helpers.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target?.stop();
});

const VALID_NAMES = ['a', '0', 'a0/b1/c2', 'a.b', 'a_b', 'a__b', 'a-b', 'a---b', 'a.b-c_d__e/f9/g-h'];

/** Invalid names as they appear in the request path (already percent-encoded where needed). */
const INVALID_NAMES = [
  'Upper',
  'a..b',
  'a._b',
  'a___b',
  '-a',
  'a-',
  '.a',
  'a.',
  '_a',
  'a_',
  'a//b',
  'a/-b',
  'a%20b',
  'a%C3%A4',
];

describe('repository names', () => {
  for (const suffix of VALID_NAMES) {
    it(`"<prefix>-${suffix}" is accepted for push and pull`, async () => {
      const repo = `${uniqueRepo('name')}-${suffix}`;
      const image = makeImage();
      await pushAll(target.url, repo, image, 'v1');
      const pulled = await send(`${target.url}/v2/${repo}/manifests/v1`, {
        headers: { accept: image.manifest.mediaType },
      });
      assert.equal(pulled.status, 200, pulled.describe());
    });
  }

  for (const name of INVALID_NAMES) {
    it(`"${name}" is refused with 400 NAME_INVALID when starting an upload`, async () => {
      assertError(
        await send(`${target.url}/v2/${name}/blobs/uploads/`, { method: 'POST' }),
        400,
        'NAME_INVALID',
      );
    });

    it(`"${name}" is refused with 400 NAME_INVALID when pushing a manifest`, async () => {
      const image = makeImage();
      assertError(await putManifest(target.url, name, 'v1', image.manifest), 400, 'NAME_INVALID');
    });
  }

  it('an invalid name is refused with 400 NAME_INVALID when listing tags', async () => {
    assertError(await send(`${target.url}/v2/Not-Valid/tags/list`), 400, 'NAME_INVALID');
  });

  it('an invalid name is refused with 400 NAME_INVALID when pulling a blob', async () => {
    assertError(await send(`${target.url}/v2/a..b/blobs/sha256:${'0'.repeat(64)}`), 400, 'NAME_INVALID');
  });
});

describe('tags', () => {
  async function repoWithParts(): Promise<{ repo: string; image: ReturnType<typeof makeImage> }> {
    const repo = uniqueRepo('tag');
    const image = makeImage();
    await pushParts(target.url, repo, image);
    return { repo, image };
  }

  for (const tag of ['a', '_', '0', 'UPPER.lower-1_2', 'v1.2.3-rc.1', `a${'x'.repeat(127)}`]) {
    it(`"${tag.length > 40 ? `${tag.slice(0, 10)}… (${tag.length} characters)` : tag}" is a valid tag`, async () => {
      const { repo, image } = await repoWithParts();
      assertStatus(await putManifest(target.url, repo, tag, image.manifest), 201);
      const pulled = await send(`${target.url}/v2/${repo}/manifests/${tag}`, {
        headers: { accept: image.manifest.mediaType },
      });
      assert.equal(pulled.status, 200, pulled.describe());
    });
  }

  for (const tag of [`a${'x'.repeat(128)}`, '.a', '-a', 'a+b', 'a%20b', 'a%C3%A4', 'a~b']) {
    it(`"${tag.length > 40 ? `${tag.slice(0, 10)}… (${tag.length} characters)` : tag}" is refused with 400`, async () => {
      const { repo, image } = await repoWithParts();
      assertError(await putManifest(target.url, repo, tag, image.manifest), 400, 'MANIFEST_INVALID');
    });
  }

  it('an invalid tag in ?tag= refuses the whole push with 400', async () => {
    const { repo, image } = await repoWithParts();
    const reply = await putManifest(target.url, repo, image.manifest.digest, image.manifest, {
      tag: ['good', '.bad'],
    });
    assertError(reply, 400, 'MANIFEST_INVALID');
    assertError(await send(`${target.url}/v2/${repo}/manifests/good`), 404, [
      'MANIFEST_UNKNOWN',
      'NAME_UNKNOWN',
    ]);
  });
});
