/**
 * Carries out a repository's plan (`migrate-plan.ts`) through the target's registry services, as
 * a client's push would: blobs through the upload service, which hashes every byte on its way in
 * and keeps nothing whose digest does not match, then manifests children first (each put checks
 * that what it references is there), then tags. Each step is atomic in the target, so a run
 * killed anywhere leaves only whole blobs, manifests and tags, and the next run's plan skips them.
 *
 * Blobs stream from the source's `send` into the target's upload: never a whole blob in memory.
 * A blob that another repository of the target already holds is mounted instead (a link, or a row
 * in a content-addressed store), which costs no bytes.
 */
import { Transform } from 'node:stream';
import { RegistryError } from '../oci/errors.js';
import type { Registry } from '../registry/registry.js';
import type { BlobStep, RepositoryPlan } from './migrate-plan.js';
import { mapLimited } from '../util/map-limited.js';

export interface CopyObserver {
  /** Bytes of a blob streamed so far (called while it flows). */
  bytes(count: number): void;
  /** One step done: a blob (copied or mounted), a manifest, a tag. */
  step(kind: 'blob' | 'mounted' | 'manifest' | 'tag'): void;
}

/** A step that failed, with what it was doing; the message is for a person. */
export class MigrationStepError extends Error {
  constructor(
    readonly repo: string,
    readonly what: string,
    cause: unknown,
  ) {
    super(`${repo}: ${what}: ${describe(cause)}`, { cause });
    this.name = 'MigrationStepError';
  }
}

function describe(err: unknown): string {
  if (err instanceof RegistryError) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${err.code}: ${err.message}${cause}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export class RepositoryCopier {
  constructor(
    private readonly source: Registry,
    private readonly target: Registry,
    private readonly observer: CopyObserver,
    private readonly blobConcurrency: number,
  ) {}

  async copy(plan: RepositoryPlan): Promise<void> {
    const { repo } = plan;
    await mapLimited(plan.blobs, this.blobConcurrency, async (blob) => {
      try {
        this.observer.step((await this.copyBlob(repo, blob)) ? 'blob' : 'mounted');
      } catch (err) {
        throw new MigrationStepError(repo, `copying blob ${blob.digest.value}`, err);
      }
    });
    for (const m of plan.manifests) {
      try {
        const bytes = await this.source.blobs.read(repo, m.digest);
        await this.target.manifests.put(repo, { kind: 'digest', digest: m.digest }, bytes, m.mediaType, [], {
          verifyReferences: m.verifyReferences,
        });
      } catch (err) {
        throw new MigrationStepError(repo, `copying manifest ${m.digest.value}`, err);
      }
      this.observer.step('manifest');
    }
    for (const t of plan.tags) {
      try {
        const bytes = await this.source.blobs.read(repo, t.digest);
        await this.target.manifests.put(repo, { kind: 'tag', tag: t.tag }, bytes, t.mediaType, [], {
          verifyReferences: t.verifyReferences,
        });
      } catch (err) {
        throw new MigrationStepError(repo, `setting tag ${t.tag} to ${t.digest.value}`, err);
      }
      this.observer.step('tag');
    }
  }

  /** Copies one blob; false when it was mounted from another repository of the target instead. */
  private async copyBlob(repo: string, blob: BlobStep): Promise<boolean> {
    for (const holder of await this.target.index.blobHolders(blob.digest.value)) {
      if (holder !== repo && (await this.target.blobs.mount(holder, repo, blob.digest))) return false;
    }
    const observer = this.observer;
    const flow = new Transform({
      highWaterMark: 1024 * 1024,
      transform(chunk: Buffer, _enc, callback) {
        observer.bytes(chunk.length);
        // A copy: the filesystem driver's copyTo reuses its read buffer once a write is called
        // back, which a socket does after taking the bytes, but a Transform does while the chunk
        // still waits in its readable queue (the upload then hashed overwritten bytes).
        callback(null, Buffer.from(chunk));
      },
    });
    // Whichever side fails first is the cause; the other side then fails only because of it.
    let first: { side: 'source' | 'target'; err: unknown } | undefined;
    const reading = this.source.blobs.send(repo, blob.digest, flow, { onOpen: () => undefined }).then(
      () => flow.end(),
      (err: unknown) => {
        first ??= { side: 'source', err };
        flow.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    );
    const writing = this.target.uploads
      .monolithic(repo, blob.digest, flow, blob.size)
      .catch((err: unknown) => {
        first ??= { side: 'target', err };
        if (!flow.destroyed) flow.destroy();
      });
    await Promise.all([reading, writing]);
    if (first) {
      const { side, err } = first;
      if (side === 'target' && err instanceof RegistryError && err.code === 'DIGEST_INVALID')
        throw new Error(`the source's copy is damaged: ${err.message}`, { cause: err });
      throw new Error(
        `${side === 'source' ? 'reading the source' : 'writing the target'}: ${describe(err)}`,
        {
          cause: err,
        },
      );
    }
    return true;
  }
}
