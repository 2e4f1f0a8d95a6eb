import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

/** Digest algorithms Berth accepts (the image spec's registered ones). */
export const SUPPORTED_ALGORITHMS = ['sha256', 'sha512'] as const;
export type DigestAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

const ENCODED_PATTERN: Record<DigestAlgorithm, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

// The image spec's general digest grammar; used to tell "malformed" from "unsupported algorithm".
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  /** `algorithm:hex`, the canonical string form. */
  readonly value: string;
}

export function isSupportedAlgorithm(alg: string): alg is DigestAlgorithm {
  return (SUPPORTED_ALGORITHMS as readonly string[]).includes(alg);
}

/** Parses a digest string or returns undefined when it is not a valid, supported digest. */
export function tryParseDigest(value: string): Digest | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0) return undefined;
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (!isSupportedAlgorithm(algorithm) || !ENCODED_PATTERN[algorithm].test(hex)) return undefined;
  return { algorithm, hex, value };
}

/** Parses a digest or throws DIGEST_INVALID naming what is wrong with it. */
export function parseDigest(value: string): Digest {
  const digest = tryParseDigest(value);
  if (digest) return digest;
  if (!DIGEST_GRAMMAR.test(value)) {
    throw new RegistryError('DIGEST_INVALID', `invalid digest ${JSON.stringify(value.slice(0, 200))}`);
  }
  const algorithm = value.slice(0, value.indexOf(':'));
  if (!isSupportedAlgorithm(algorithm)) {
    throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm ${JSON.stringify(algorithm)}`);
  }
  throw new RegistryError(
    'DIGEST_INVALID',
    `invalid ${algorithm} digest ${JSON.stringify(value.slice(0, 200))}`,
  );
}

export function isDigest(value: string): boolean {
  return tryParseDigest(value) !== undefined;
}

export function createHasher(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}
