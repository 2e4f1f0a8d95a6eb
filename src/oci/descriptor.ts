import { tryParseDigest } from './digest.js';
import { isValidMediaType } from './media-types.js';

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  data?: string;
}

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string');
}

/**
 * Checks one descriptor and returns what is wrong with it, or undefined when it is valid.
 * `where` names the field for the error message (`layers[2]`).
 */
export function descriptorProblem(value: unknown, where: string): string | undefined {
  if (!isPlainObject(value)) return `${where} must be an object`;
  if (typeof value.mediaType !== 'string' || !isValidMediaType(value.mediaType)) {
    return `${where}.mediaType must be a media type`;
  }
  if (typeof value.digest !== 'string' || !tryParseDigest(value.digest)) {
    return `${where}.digest must be a valid sha256 or sha512 digest`;
  }
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) {
    return `${where}.size must be a non-negative integer`;
  }
  if (
    value.urls !== undefined &&
    (!Array.isArray(value.urls) || !value.urls.every((u) => typeof u === 'string'))
  ) {
    return `${where}.urls must be an array of strings`;
  }
  if (value.annotations !== undefined && !isStringMap(value.annotations)) {
    return `${where}.annotations must map strings to strings`;
  }
  if (
    value.artifactType !== undefined &&
    (typeof value.artifactType !== 'string' || !isValidMediaType(value.artifactType))
  ) {
    return `${where}.artifactType must be a media type`;
  }
  if (value.platform !== undefined) {
    const p = value.platform;
    if (!isPlainObject(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      return `${where}.platform must have string architecture and os`;
    }
  }
  return undefined;
}

export { isPlainObject, isStringMap };
