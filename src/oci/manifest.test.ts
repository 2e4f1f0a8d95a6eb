import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf } from './digest.js';
import { RegistryError } from './errors.js';
import { parseManifest, referrerDescriptor } from './manifest.js';
import { MediaType } from './media-types.js';

const config = { mediaType: MediaType.OciConfig, digest: digestOf('{}'), size: 2 };
const layer = { mediaType: MediaType.OciLayerTarGzip, digest: digestOf('layer'), size: 5 };
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

function invalid(
  fn: () => unknown,
  code: 'MANIFEST_INVALID' | 'UNSUPPORTED_MEDIA_TYPE' = 'MANIFEST_INVALID',
): void {
  assert.throws(fn, (err: unknown) => err instanceof RegistryError && err.code === code);
}

describe('manifest parsing', () => {
  it('accepts an OCI image manifest and lists config and layers as required blobs', () => {
    const parsed = parseManifest(
      json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer] }),
      MediaType.OciManifest,
    );
    assert.equal(parsed.mediaType, MediaType.OciManifest);
    assert.deepEqual(
      parsed.blobs.map((b) => b.digest),
      [config.digest, layer.digest],
    );
  });

  it('classifies a manifest without mediaType by the Content-Type or its shape', () => {
    assert.equal(
      parseManifest(json({ schemaVersion: 2, config, layers: [] }), '').mediaType,
      MediaType.OciManifest,
    );
    assert.equal(
      parseManifest(json({ schemaVersion: 2, manifests: [] }), MediaType.OciIndex).mediaType,
      MediaType.OciIndex,
    );
  });

  it('refuses a Content-Type that contradicts mediaType', () => {
    invalid(() =>
      parseManifest(
        json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [] }),
        MediaType.OciIndex,
      ),
    );
  });

  it('refuses an unknown manifest media type with 415', () => {
    invalid(
      () =>
        parseManifest(
          json({ schemaVersion: 2, mediaType: 'application/vnd.example+json', config }),
          'application/vnd.example+json',
        ),
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('refuses invalid JSON, wrong schemaVersion and broken descriptors', () => {
    invalid(() => parseManifest(Buffer.from('{'), MediaType.OciManifest));
    invalid(() => parseManifest(json({ schemaVersion: 1, config, layers: [] }), MediaType.OciManifest));
    invalid(() =>
      parseManifest(
        json({ schemaVersion: 2, config: { ...config, digest: 'sha256:x' }, layers: [] }),
        MediaType.OciManifest,
      ),
    );
    invalid(() =>
      parseManifest(
        json({ schemaVersion: 2, config: { ...config, size: -1 }, layers: [] }),
        MediaType.OciManifest,
      ),
    );
    invalid(() => parseManifest(json({ schemaVersion: 2, config, layers: {} }), MediaType.OciManifest));
  });

  it('does not require foreign layers that live at their URLs', () => {
    const foreign = {
      mediaType: MediaType.DockerForeignLayer,
      digest: digestOf('f'),
      size: 1,
      urls: ['https://example.test/f'],
    };
    const parsed = parseManifest(
      json({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config, layers: [foreign] }),
      MediaType.DockerManifest,
    );
    assert.deepEqual(
      parsed.blobs.map((b) => b.digest),
      [config.digest],
    );
  });

  it('gives referrers the artifactType, or the config media type for images, or none for indexes', () => {
    const subject = { mediaType: MediaType.OciManifest, digest: digestOf('s'), size: 1 };
    const art = parseManifest(
      json({
        schemaVersion: 2,
        config: { ...config, mediaType: 'application/vnd.example.sig' },
        layers: [],
        subject,
      }),
      '',
    );
    assert.equal(referrerDescriptor(art, 'sha256:x', 1).artifactType, 'application/vnd.example.sig');
    const typed = parseManifest(
      json({ schemaVersion: 2, artifactType: 'application/vnd.example.sbom', config, layers: [], subject }),
      '',
    );
    assert.equal(referrerDescriptor(typed, 'sha256:x', 1).artifactType, 'application/vnd.example.sbom');
    const index = parseManifest(
      json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [], subject }),
      MediaType.OciIndex,
    );
    assert.equal(referrerDescriptor(index, 'sha256:x', 1).artifactType, undefined);
  });
});
