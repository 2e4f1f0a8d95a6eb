/**
 * What a stored manifest points at, read leniently for garbage collection and scrub: every digest
 * named as config, layer, child manifest or (old artifact manifests) blob keeps that content alive,
 * foreign layers included, whatever the manifest's media type. Validation is the push path's job;
 * here, anything a manifest mentions must survive.
 */
import { tryParseDigest, type Digest } from '../oci/digest.js';

export interface ManifestLinks {
  /** The document's own `mediaType` field, when it has one. */
  mediaType: string | undefined;
  /** The `subject` digest: a referrer. A subject does not keep its target alive. */
  subject: string | undefined;
  /** Children of an index or manifest list. */
  children: Digest[];
  /** Config, layers and other blobs. */
  blobs: Digest[];
}

function digestsOf(value: unknown): Digest[] {
  if (!Array.isArray(value)) return [];
  const found: Digest[] = [];
  for (const item of value) {
    const digest = digestOf(item);
    if (digest) found.push(digest);
  }
  return found;
}

function digestOf(value: unknown): Digest | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const digest = (value as { digest?: unknown }).digest;
  return typeof digest === 'string' ? tryParseDigest(digest) : undefined;
}

/** Reads a manifest's links; throws when the bytes are not a JSON object (then nothing is known). */
export function manifestLinks(bytes: Buffer): ManifestLinks {
  const doc = JSON.parse(bytes.toString('utf8')) as unknown;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error('manifest is not a JSON object');
  const fields = doc as Record<string, unknown>;
  const config = digestOf(fields.config);
  return {
    mediaType: typeof fields.mediaType === 'string' ? fields.mediaType : undefined,
    subject: digestOf(fields.subject)?.value,
    children: digestsOf(fields.manifests),
    blobs: [...(config ? [config] : []), ...digestsOf(fields.layers), ...digestsOf(fields.blobs)],
  };
}
