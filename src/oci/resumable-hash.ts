/**
 * Digests whose running state can be saved as bytes and restored in another request or process
 * (hash-wasm's WASM SHA-2, `save()`/`load()`). node:crypto is about five times faster but cannot
 * export its state (bench/hashing.ts; docs/benchmarks.md "Hashing uploads"), so Berth uses it
 * where one request sees every byte (monolithic uploads) and this where an upload session's
 * state must outlive the request (chunked uploads).
 */
import { createSHA256, createSHA512, type IHasher } from 'hash-wasm';
import type { DigestAlgorithm } from './digest.js';

export interface ResumableHasher {
  update(chunk: Uint8Array): void;
  /** The state after every byte given so far (a hundred-odd bytes). */
  save(): Uint8Array;
  /** The digest's hex; the hasher must not be used afterwards. */
  digestHex(): string;
}

/** A hasher for `algorithm`, resumed from `state` (a `save()` result) when given. */
export async function resumableHasher(
  algorithm: DigestAlgorithm,
  state?: Uint8Array,
): Promise<ResumableHasher> {
  const hasher: IHasher = algorithm === 'sha256' ? await createSHA256() : await createSHA512();
  hasher.init();
  if (state) hasher.load(state);
  return {
    update: (chunk) => {
      hasher.update(chunk);
    },
    save: () => hasher.save(),
    digestHex: () => hasher.digest('hex'),
  };
}
