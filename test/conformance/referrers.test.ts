/**
 * Listing referrers (end-12a, end-12b): an OCI image index of the manifests whose `subject` is the
 * digest, with `artifactType` (falling back to the config's media type for image manifests) and
 * annotations; the `artifactType` filter with `OCI-Filters-Applied`; an empty index, never a 404,
 * for a digest nothing refers to.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  MediaType,
  descriptorOf,
  makeArtifact,
  makeImage,
  makeIndex,
  type Image,
} from '../support/fixtures.js';
import {
  assertError,
  assertStatus,
  digestOf,
  pushAll,
  send,
  startTarget,
  uniqueRepo,
  type Reply,
  type Target,
} from './helpers.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target?.stop();
});

interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface ReferrersIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: ReferrerDescriptor[];
}

const referrersUrl = (repo: string, digest: string): string => `${target.url}/v2/${repo}/referrers/${digest}`;

async function referrers(
  repo: string,
  digest: string,
  artifactType?: string,
): Promise<{ reply: Reply; index: ReferrersIndex }> {
  const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
  const reply = await send(`${referrersUrl(repo, digest)}${query}`);
  assert.equal(reply.status, 200, reply.describe());
  return { reply, index: reply.json<ReferrersIndex>() };
}

/** A repository holding one image, tagged v1: the subject. */
async function withSubject(): Promise<{ repo: string; subject: Image }> {
  const repo = uniqueRepo('referrers');
  const subject = makeImage();
  await pushAll(target.url, repo, subject, 'v1');
  return { repo, subject };
}

describe('GET /v2/<name>/referrers/<digest>', () => {
  it('answers 200 with Content-Type application/vnd.oci.image.index.v1+json', async () => {
    const { repo, subject } = await withSubject();
    await pushAll(target.url, repo, makeArtifact({ subject: descriptorOf(subject.manifest) }));
    const { reply } = await referrers(repo, subject.manifest.digest);
    assert.equal(reply.header('content-type'), MediaType.ociIndex);
  });

  it('answers an image index: schemaVersion 2, the index media type, a manifests list', async () => {
    const { repo, subject } = await withSubject();
    await pushAll(target.url, repo, makeArtifact({ subject: descriptorOf(subject.manifest) }));
    const { index } = await referrers(repo, subject.manifest.digest);
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, MediaType.ociIndex);
    assert.ok(Array.isArray(index.manifests));
  });

  it('lists every manifest whose subject is the digest, with media type, digest and size', async () => {
    const { repo, subject } = await withSubject();
    const sbom = makeArtifact({
      artifactType: 'application/vnd.example.sbom.v1',
      subject: descriptorOf(subject.manifest),
    });
    const signature = makeArtifact({
      artifactType: 'application/vnd.example.signature.v1',
      subject: descriptorOf(subject.manifest),
    });
    await pushAll(target.url, repo, sbom);
    await pushAll(target.url, repo, signature);
    const { index } = await referrers(repo, subject.manifest.digest);
    const listed = index.manifests.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size }));
    const expected = [sbom, signature].map((a) => ({
      mediaType: MediaType.ociManifest,
      digest: a.manifest.digest,
      size: a.manifest.size,
    }));
    assert.deepEqual(
      [...listed].sort((a, b) => a.digest.localeCompare(b.digest)),
      expected.sort((a, b) => a.digest.localeCompare(b.digest)),
    );
  });

  it("sets each descriptor's artifactType to the manifest's artifactType", async () => {
    const { repo, subject } = await withSubject();
    const sbom = makeArtifact({
      artifactType: 'application/vnd.example.sbom.v1',
      subject: descriptorOf(subject.manifest),
    });
    await pushAll(target.url, repo, sbom);
    const { index } = await referrers(repo, subject.manifest.digest);
    assert.equal(
      index.manifests.find((d) => d.digest === sbom.manifest.digest)?.artifactType,
      'application/vnd.example.sbom.v1',
    );
  });

  it("falls back to the config's media type when an image manifest has no artifactType", async () => {
    const { repo, subject } = await withSubject();
    const typed = makeArtifact({
      style: 'typed',
      artifactType: 'application/vnd.example.config-typed.v1',
      subject: descriptorOf(subject.manifest),
    });
    await pushAll(target.url, repo, typed);
    const { index } = await referrers(repo, subject.manifest.digest);
    assert.equal(
      index.manifests.find((d) => d.digest === typed.manifest.digest)?.artifactType,
      'application/vnd.example.config-typed.v1',
    );
  });

  it("copies the manifest's annotations into its descriptor", async () => {
    const { repo, subject } = await withSubject();
    const annotations = {
      'org.example.sbom.format': 'json',
      'org.opencontainers.image.created': '2024-01-01T00:00:00Z',
    };
    const sbom = makeArtifact({ subject: descriptorOf(subject.manifest), annotations });
    await pushAll(target.url, repo, sbom);
    const { index } = await referrers(repo, subject.manifest.digest);
    assert.deepEqual(
      index.manifests.find((d) => d.digest === sbom.manifest.digest)?.annotations,
      annotations,
    );
  });

  it('lists an index with a subject, with its artifactType', async () => {
    const { repo, subject } = await withSubject();
    const index = makeIndex({
      subject: descriptorOf(subject.manifest),
      artifactType: 'application/vnd.example.bundle.v1',
    });
    await pushAll(target.url, repo, index);
    const { index: listed } = await referrers(repo, subject.manifest.digest);
    const entry = listed.manifests.find((d) => d.digest === index.manifest.digest);
    assert.ok(entry, 'the index is listed');
    assert.equal(entry.mediaType, MediaType.ociIndex);
    assert.equal(entry.artifactType, 'application/vnd.example.bundle.v1');
  });

  it('omits artifactType for an index that has none', async () => {
    const { repo, subject } = await withSubject();
    const index = makeIndex({ subject: descriptorOf(subject.manifest) });
    await pushAll(target.url, repo, index);
    const { index: listed } = await referrers(repo, subject.manifest.digest);
    const entry = listed.manifests.find((d) => d.digest === index.manifest.digest);
    assert.ok(entry, 'the index is listed');
    assert.equal('artifactType' in entry, false, JSON.stringify(entry));
  });

  it('does not list manifests with another subject or none', async () => {
    const { repo, subject } = await withSubject();
    const other = makeImage();
    await pushAll(target.url, repo, other, 'other');
    const mine = makeArtifact({ subject: descriptorOf(subject.manifest) });
    await pushAll(target.url, repo, mine);
    await pushAll(target.url, repo, makeArtifact({ subject: descriptorOf(other.manifest) }));
    await pushAll(target.url, repo, makeArtifact(), 'no-subject');
    const { index } = await referrers(repo, subject.manifest.digest);
    assert.deepEqual(
      index.manifests.map((d) => d.digest),
      [mine.manifest.digest],
    );
  });

  it('lists referrers pushed before their subject exists', async () => {
    const repo = uniqueRepo('referrers');
    const subject = makeImage();
    const early = makeArtifact({ subject: descriptorOf(subject.manifest) });
    await pushAll(target.url, repo, early);
    const before = await referrers(repo, subject.manifest.digest);
    assert.deepEqual(
      before.index.manifests.map((d) => d.digest),
      [early.manifest.digest],
    );
    await pushAll(target.url, repo, subject, 'v1');
    const after = await referrers(repo, subject.manifest.digest);
    assert.deepEqual(
      after.index.manifests.map((d) => d.digest),
      [early.manifest.digest],
    );
  });

  it('answers 200 and an empty index for a digest nothing refers to', async () => {
    const { repo } = await withSubject();
    const { reply, index } = await referrers(repo, digestOf('nothing refers to this'));
    assert.equal(reply.header('content-type'), MediaType.ociIndex);
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, MediaType.ociIndex);
    assert.deepEqual(index.manifests, []);
  });

  it('answers an empty index for an existing manifest without referrers', async () => {
    const { repo, subject } = await withSubject();
    const { index } = await referrers(repo, subject.manifest.digest);
    assert.deepEqual(index.manifests, []);
  });

  it('does not list referrers from another repository', async () => {
    const { repo, subject } = await withSubject();
    const elsewhere = uniqueRepo('referrers-elsewhere');
    await pushAll(target.url, elsewhere, subject, 'v1');
    await pushAll(target.url, elsewhere, makeArtifact({ subject: descriptorOf(subject.manifest) }));
    const { index } = await referrers(repo, subject.manifest.digest);
    assert.deepEqual(index.manifests, []);
  });

  it('no longer lists a referrer once it is deleted', async () => {
    const { repo, subject } = await withSubject();
    const artifact = makeArtifact({ subject: descriptorOf(subject.manifest) });
    await pushAll(target.url, repo, artifact);
    assertStatus(
      await send(`${target.url}/v2/${repo}/manifests/${artifact.manifest.digest}`, { method: 'DELETE' }),
      202,
    );
    const { index } = await referrers(repo, subject.manifest.digest);
    assert.deepEqual(index.manifests, []);
  });

  it('answers 400 for a digest with an invalid syntax', async () => {
    const { repo } = await withSubject();
    const reply = await send(referrersUrl(repo, 'sha256:not-a-digest'));
    assertError(reply, 400, 'DIGEST_INVALID');
  });
});

describe('filtering referrers by artifactType', () => {
  it('answers only the referrers of that artifactType, with OCI-Filters-Applied: artifactType', async () => {
    const { repo, subject } = await withSubject();
    const sbom = makeArtifact({
      artifactType: 'application/vnd.example.sbom.v1',
      subject: descriptorOf(subject.manifest),
    });
    const signature = makeArtifact({
      artifactType: 'application/vnd.example.signature.v1',
      subject: descriptorOf(subject.manifest),
    });
    await pushAll(target.url, repo, sbom);
    await pushAll(target.url, repo, signature);
    const { reply, index } = await referrers(
      repo,
      subject.manifest.digest,
      'application/vnd.example.sbom.v1',
    );
    assert.equal(reply.header('oci-filters-applied'), 'artifactType');
    assert.deepEqual(
      index.manifests.map((d) => d.digest),
      [sbom.manifest.digest],
    );
  });

  it('answers an empty index with OCI-Filters-Applied when nothing has that artifactType', async () => {
    const { repo, subject } = await withSubject();
    await pushAll(
      target.url,
      repo,
      makeArtifact({
        artifactType: 'application/vnd.example.sbom.v1',
        subject: descriptorOf(subject.manifest),
      }),
    );
    const { reply, index } = await referrers(
      repo,
      subject.manifest.digest,
      'application/vnd.example.none.v1',
    );
    assert.equal(reply.header('oci-filters-applied'), 'artifactType');
    assert.deepEqual(index.manifests, []);
  });

  it("matches the config's media type of a manifest without artifactType", async () => {
    const { repo, subject } = await withSubject();
    const typed = makeArtifact({
      style: 'typed',
      artifactType: 'application/vnd.example.typed.v1',
      subject: descriptorOf(subject.manifest),
    });
    await pushAll(target.url, repo, typed);
    await pushAll(
      target.url,
      repo,
      makeArtifact({
        artifactType: 'application/vnd.example.other.v1',
        subject: descriptorOf(subject.manifest),
      }),
    );
    const { index } = await referrers(repo, subject.manifest.digest, 'application/vnd.example.typed.v1');
    assert.deepEqual(
      index.manifests.map((d) => d.digest),
      [typed.manifest.digest],
    );
  });

  it('without a filter, answers no OCI-Filters-Applied header', async () => {
    const { repo, subject } = await withSubject();
    await pushAll(target.url, repo, makeArtifact({ subject: descriptorOf(subject.manifest) }));
    const { reply } = await referrers(repo, subject.manifest.digest);
    assert.equal(reply.header('oci-filters-applied'), undefined);
  });
});
