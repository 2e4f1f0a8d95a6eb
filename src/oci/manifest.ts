import { RegistryError } from './errors.js';
import { descriptorProblem, isPlainObject, isStringMap, type Descriptor } from './descriptor.js';
import {
  MediaType,
  MANIFEST_MEDIA_TYPES,
  baseMediaType,
  isIndexMediaType,
  isNonDistributable,
  isValidMediaType,
} from './media-types.js';

/** The spec asks registries to accept at least 4 MiB; Berth accepts exactly that much. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** What the registry needs to know about a manifest, after validation. */
export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must exist in the repository: config and distributable layers. */
  blobs: Descriptor[];
  /** Manifests that must exist in the repository: an index's children. */
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  configMediaType?: string;
  annotations?: Record<string, string>;
}

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}

/**
 * Chooses the manifest's media type from the request's Content-Type and the document's own
 * `mediaType` field. They must agree when both are present (the spec makes clients set the
 * header to the field); a document without either is classified by its shape.
 */
function resolveMediaType(contentType: string, doc: Record<string, unknown>): string {
  const header = baseMediaType(contentType);
  const field = doc.mediaType;
  if (field !== undefined && typeof field !== 'string') throw invalid('mediaType must be a string');
  const headerIsManifest = MANIFEST_MEDIA_TYPES.includes(header);
  if (field && headerIsManifest && field !== header) {
    throw invalid(`Content-Type ${header} does not match the manifest's mediaType ${field}`);
  }
  const chosen = field || (headerIsManifest ? header : '');
  if (chosen) {
    if (!MANIFEST_MEDIA_TYPES.includes(chosen)) {
      throw new RegistryError(
        'UNSUPPORTED_MEDIA_TYPE',
        `unsupported manifest media type ${JSON.stringify(chosen)}`,
      );
    }
    return chosen;
  }
  if (header && header !== 'application/json' && header !== 'application/octet-stream') {
    throw new RegistryError(
      'UNSUPPORTED_MEDIA_TYPE',
      `unsupported manifest media type ${JSON.stringify(header)}`,
    );
  }
  if (Array.isArray(doc.manifests)) return MediaType.OciIndex;
  if (doc.config !== undefined) return MediaType.OciManifest;
  throw invalid('cannot tell the manifest type: no mediaType, config or manifests');
}

function descriptorList(doc: Record<string, unknown>, field: string, required: boolean): Descriptor[] {
  const value = doc[field];
  if (value === undefined && !required) return [];
  if (!Array.isArray(value)) throw invalid(`${field} must be an array`);
  value.forEach((d, i) => {
    const problem = descriptorProblem(d, `${field}[${i}]`);
    if (problem) throw invalid(problem);
  });
  return value as Descriptor[];
}

function optionalDescriptor(doc: Record<string, unknown>, field: string): Descriptor | undefined {
  const value = doc[field];
  if (value === undefined || value === null) return undefined;
  const problem = descriptorProblem(value, field);
  if (problem) throw invalid(problem);
  return value as Descriptor;
}

/** Parses and validates manifest bytes as pushed; throws MANIFEST_INVALID with the reason. */
export function parseManifest(bytes: Buffer, contentType: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  if (!isPlainObject(doc)) throw invalid('manifest must be a JSON object');
  // The media type first: a Docker schema-1 manifest is unsupported (415), not merely malformed.
  const mediaType = resolveMediaType(contentType, doc);
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const annotations = doc.annotations;
  if (annotations !== undefined && !isStringMap(annotations))
    throw invalid('annotations must map strings to strings');
  const artifactType = doc.artifactType;
  if (artifactType !== undefined && (typeof artifactType !== 'string' || !isValidMediaType(artifactType))) {
    throw invalid('artifactType must be a media type');
  }
  const subject = optionalDescriptor(doc, 'subject');
  const base = {
    mediaType,
    ...(subject ? { subject } : {}),
    ...(artifactType ? { artifactType } : {}),
    ...(annotations ? { annotations } : {}),
  };

  if (isIndexMediaType(mediaType)) {
    if (doc.config !== undefined || doc.layers !== undefined)
      throw invalid('an index has no config or layers');
    const manifests = descriptorList(doc, 'manifests', true);
    return { ...base, blobs: [], manifests };
  }

  if (doc.manifests !== undefined) throw invalid('an image manifest has no manifests field');
  const config = optionalDescriptor(doc, 'config');
  if (!config) throw invalid('config is required');
  const layers = descriptorList(doc, 'layers', mediaType === MediaType.DockerManifest);
  // Foreign (non-distributable) layers live at their URLs, not in the registry.
  const blobs = [config, ...layers.filter((l) => !(isNonDistributable(l.mediaType) && l.urls?.length))];
  return { ...base, blobs, manifests: [], configMediaType: config.mediaType };
}

/**
 * The descriptor the referrers API lists for a manifest with a subject: artifactType falls back
 * to the config's media type for image manifests and is omitted for indexes without one.
 */
export function referrerDescriptor(parsed: ParsedManifest, digest: string, size: number): Descriptor {
  const artifactType =
    parsed.artifactType ?? (isIndexMediaType(parsed.mediaType) ? undefined : parsed.configMediaType);
  return {
    mediaType: parsed.mediaType,
    digest,
    size,
    ...(artifactType ? { artifactType } : {}),
    ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
  };
}
