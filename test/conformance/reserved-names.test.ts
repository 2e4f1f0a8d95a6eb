/**
 * Repository names whose components are OCI image layout entries (`blobs`, `index.json`,
 * `oci-layout`) match the spec's name grammar but would collide with the on-disk layout of the
 * parent repository (`team/web/index.json` is a file of `team/web`). Berth refuses them with
 * 400 NAME_INVALID on every route that takes a name, including a mount's `from=`.
 * (CNCF Distribution stores repositories elsewhere and accepts these names: Berth only.)
 */
import { after, before, describe, it } from 'node:test';

import { makeImage } from '../support/fixtures.js';
import {
  BERTH_ONLY,
  assertError,
  assertStatus,
  digestOf,
  pushAll,
  pushBlob,
  putManifest,
  randomBlob,
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

const RESERVED = ['blobs', 'index.json', 'oci-layout'];
const ZERO = `sha256:${'0'.repeat(64)}`;

describe('names with a layout entry as a component', { skip: BERTH_ONLY }, () => {
  for (const entry of RESERVED) {
    for (const shape of [`${entry}`, `team/${entry}`, `team/${entry}/x`]) {
      const name = (): string => shape.replace('team', uniqueRepo('team'));

      it(`"${shape}" is refused when starting an upload`, async () => {
        assertError(
          await send(`${target.url}/v2/${name()}/blobs/uploads/`, { method: 'POST' }),
          400,
          'NAME_INVALID',
        );
      });

      it(`"${shape}" is refused when pushing a manifest`, async () => {
        assertError(await putManifest(target.url, name(), 'v1', makeImage().manifest), 400, 'NAME_INVALID');
      });

      it(`"${shape}" is refused when pulling a manifest, a blob and tags`, async () => {
        assertError(await send(`${target.url}/v2/${name()}/manifests/v1`), 400, 'NAME_INVALID');
        assertError(await send(`${target.url}/v2/${name()}/blobs/${ZERO}`), 400, 'NAME_INVALID');
        assertError(await send(`${target.url}/v2/${name()}/tags/list`), 400, 'NAME_INVALID');
      });
    }
  }

  it('an app/blobs/sha256 push cannot shadow app', async () => {
    const app = uniqueRepo('app');
    const image = makeImage();
    await pushAll(target.url, app, image, 'v1');
    assertError(
      await putManifest(target.url, `${app}/blobs/sha256`, 'v1', makeImage().manifest),
      400,
      'NAME_INVALID',
    );
    assertStatus(
      await send(`${target.url}/v2/${app}/manifests/v1`, { headers: { accept: image.manifest.mediaType } }),
      200,
    );
  });

  it('a mount from a reserved name is refused', async () => {
    const source = uniqueRepo('src');
    const blob = randomBlob(64);
    await pushBlob(target.url, source, blob);
    const digest = digestOf(blob);
    const url = `${target.url}/v2/${uniqueRepo('dst')}/blobs/uploads/?mount=${digest}&from=${source}/index.json`;
    assertError(await send(url, { method: 'POST' }), 400, 'NAME_INVALID');
  });
});
