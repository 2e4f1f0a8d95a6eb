/**
 * Generated registry content for the benchmark: small random blobs, large blobs streamed from a
 * reused buffer, and OCI image manifests. Nothing is read from disk, so the client side of the
 * benchmark costs as little CPU as possible.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';

/** A blob as a registry sees it: its digest and its size in bytes. */
export interface BlobRef {
  digest: string;
  size: number;
  mediaType: string;
}

/** A blob small enough to hold in memory. */
export interface SmallBlob extends BlobRef {
  bytes: Buffer;
}

export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar';
export const CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** Every run gets its own nonce, so no blob of this run can already exist on a reused server. */
const RUN_NONCE = randomBytes(8).toString('hex');

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A random layer of `size` bytes. */
export function randomLayer(size: number): SmallBlob {
  const bytes = randomBytes(size);
  return { bytes, digest: sha256(bytes), size, mediaType: LAYER_MEDIA_TYPE };
}

/** An image config naming the given layers; `id` makes it unique. */
export function imageConfig(layers: readonly BlobRef[], id: string): SmallBlob {
  const bytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'berth.bench.id': `${RUN_NONCE}-${id}` } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  return { bytes, digest: sha256(bytes), size: bytes.length, mediaType: CONFIG_MEDIA_TYPE };
}

/** The bytes of an OCI image manifest for a config and its layers. */
export function imageManifest(config: BlobRef, layers: readonly BlobRef[]): Buffer {
  const descriptor = (b: BlobRef): object => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      config: descriptor(config),
      layers: layers.map(descriptor),
    }),
  );
}

/** A 1 KiB-layer image: one unique layer, its config and the manifest that ties them. */
export interface SmallImage {
  layer: SmallBlob;
  config: SmallBlob;
  manifest: Buffer;
}

export function smallImage(layerSize: number, id: string): SmallImage {
  const layer = randomLayer(layerSize);
  const config = imageConfig([layer], id);
  return { layer, config, manifest: imageManifest(config, [layer]) };
}

/** A large blob of a {@link LargeBlobFamily}: its chunks are streamed, never held whole. */
export interface LargeBlob extends BlobRef {
  /** The blob's bytes in order; the buffers are shared and must not be modified. */
  chunks(): Iterable<Buffer>;
}

const SUFFIX_BYTES = 32;
const CHUNK_BYTES = 1 << 20;

/**
 * Large blobs of one size that share a random prefix and differ in a 32-byte suffix. SHA-256
 * absorbs input left to right, so the prefix is hashed once and each blob's digest costs only a
 * copy of that state plus its suffix: the client never spends a core hashing gigabytes while the
 * server it measures is working.
 */
export class LargeBlobFamily {
  readonly size: number;
  private readonly chunk = randomBytes(CHUNK_BYTES);
  private readonly prefixBytes: number;
  private readonly prefixHash: Hash;

  constructor(size: number) {
    if (size < SUFFIX_BYTES) throw new Error(`large blobs need at least ${SUFFIX_BYTES} bytes`);
    this.size = size;
    this.prefixBytes = size - SUFFIX_BYTES;
    this.prefixHash = createHash('sha256');
    for (const part of this.prefixChunks()) this.prefixHash.update(part);
  }

  private *prefixChunks(): Generator<Buffer> {
    let left = this.prefixBytes;
    while (left > 0) {
      const n = Math.min(left, CHUNK_BYTES);
      yield n === CHUNK_BYTES ? this.chunk : this.chunk.subarray(0, n);
      left -= n;
    }
  }

  /** The blob of this family named `id` (the same id gives the same blob within a run). */
  blob(id: string): LargeBlob {
    const suffix = createHash('sha256').update(`${RUN_NONCE}/${id}`).digest();
    const digest = `sha256:${this.prefixHash.copy().update(suffix).digest('hex')}`;
    const prefixChunks = (): Generator<Buffer> => this.prefixChunks();
    return {
      digest,
      size: this.size,
      mediaType: LAYER_MEDIA_TYPE,
      *chunks() {
        yield* prefixChunks();
        yield suffix;
      },
    };
  }
}
