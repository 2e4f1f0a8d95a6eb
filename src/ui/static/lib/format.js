// Numbers, times, digests and media types as people read them.
import { h } from './dom.js';

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Decimal units, as `docker images` prints them. */
export function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

const STEPS = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "3 hours ago", "in 2 days". */
export function ago(date) {
  const seconds = (date.getTime() - Date.now()) / 1000;
  for (const [unit, size] of STEPS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return Math.abs(seconds) < 45 ? 'just now' : relative.format(Math.round(seconds), 'second');
}

/** Go's zero time, which zot writes for "never". */
export function isZeroTime(value) {
  return !value || String(value).startsWith('0001-01-01');
}

function toDate(value) {
  if (value === null || value === undefined || value === '' || isZeroTime(value)) return undefined;
  const date = typeof value === 'number' ? new Date(value) : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A `<time>` showing a relative time, the exact one on hover. */
export function timeAgo(value, fallback = '—') {
  const date = toDate(value);
  if (!date) return fallback;
  return h('time', { datetime: date.toISOString(), title: absolute.format(date) }, ago(date));
}

/** A `<time>` showing a date and time. */
export function timeAt(value, fallback = '—') {
  const date = toDate(value);
  if (!date) return fallback;
  return h('time', { datetime: date.toISOString(), title: ago(date) }, absolute.format(date));
}

export function day(value, fallback = '—') {
  const date = toDate(value);
  if (!date) return fallback;
  return h('time', { datetime: date.toISOString(), title: absolute.format(date) }, dateOnly.format(date));
}

/** `sha256:0123456789ab` — enough to tell images apart at a glance. */
export function shortDigest(digest) {
  if (typeof digest !== 'string') return '';
  const [algorithm, hex] = digest.split(':');
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest;
}

export function platform(p) {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

export function platforms(list) {
  if (!Array.isArray(list) || list.length === 0) return '—';
  return list.map(platform).join(', ');
}

const MEDIA_TYPES = {
  'application/vnd.oci.image.manifest.v1+json': 'OCI image',
  'application/vnd.oci.image.index.v1+json': 'OCI index',
  'application/vnd.docker.distribution.manifest.v2+json': 'Docker image',
  'application/vnd.docker.distribution.manifest.list.v2+json': 'Docker manifest list',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'layer (tar+gzip)',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'layer (tar+zstd)',
  'application/vnd.oci.image.layer.v1.tar': 'layer (tar)',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'layer (tar+gzip)',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'foreign layer',
  'application/vnd.oci.image.config.v1+json': 'OCI image config',
  'application/vnd.docker.container.image.v1+json': 'Docker image config',
  'application/vnd.oci.empty.v1+json': 'empty',
};

/** A short name for a media type; the full one is kept for a title attribute. */
export function mediaType(type) {
  return MEDIA_TYPES[type] ?? type ?? '—';
}

const IMAGE_CONFIGS = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** What a manifest is: an image, an index, or the artifact type of anything else (a signature, an SBOM...). */
export function manifestKind(type, artifactType) {
  if (artifactType && !IMAGE_CONFIGS.has(artifactType)) return artifactType;
  return mediaType(type);
}

const ARTIFACT_KINDS = [
  [/cosign\.artifact\.sig|sigstore\.bundle|notary\.signature|\.sig(nature)?\b/i, 'Signatures'],
  [/spdx|cyclonedx|sbom|syft/i, 'SBOMs'],
  [/in-toto|attestation|provenance|slsa|vex/i, 'Attestations'],
];

/** The family of a referrer's artifact type: signatures, SBOMs, attestations or other. */
export function artifactKind(type) {
  for (const [pattern, kind] of ARTIFACT_KINDS) if (pattern.test(type ?? '')) return kind;
  return 'Other artifacts';
}
