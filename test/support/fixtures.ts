/**
 * OCI content generated in code for tests: real gzip'd tar layers, image configs, OCI and Docker
 * manifests, indexes and manifest lists, artifacts with `subject`, OCI image layout folders and
 * archives, Docker archives; plus small HTTP helpers that push and fetch such content.
 *
 * Nothing here imports Berth's own code: these fixtures are an independent oracle, so a wrong
 * media type or digest in `src/oci` cannot hide behind the same mistake in a test.
 * Content is seeded: the same seed gives the same bytes; the default seed is random, so two tests
 * never share blobs by accident.
 */
import { createCipheriv, createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

/** Media types, written out from the OCI image spec and the Docker registry docs. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** Every manifest media type, for an `Accept` header that takes whatever is stored. */
export const ACCEPT_ALL_MANIFESTS = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
].join(', ');

/** Bytes with their digest, size and media type: a blob or a manifest. */
export interface Blob {
  mediaType: string;
  /** `sha256:<hex>` */
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  artifactType?: string;
}

/** A layer: its gzip'd bytes plus what it was made from. */
export interface Layer extends Blob {
  /** Digest of the uncompressed tar, as listed in the config's `rootfs.diff_ids`. */
  diffId: string;
  uncompressed: Buffer;
  files: TarFile[];
}

/**
 * Anything pushable, in push order: `blobs` (configs and layers), then `manifests` (the children
 * of an index, by digest), then `manifest` itself.
 */
export interface Content {
  blobs: Blob[];
  manifests: Blob[];
  manifest: Blob;
}

export type ManifestFormat = 'oci' | 'docker';

export interface Image extends Content {
  format: ManifestFormat;
  platform: Platform;
  config: Blob;
  layers: Layer[];
}

export interface ImageIndex extends Content {
  format: ManifestFormat;
  images: Image[];
}

export interface Artifact extends Content {
  artifactType: string;
}

export interface TarFile {
  name: string;
  content: Buffer;
  /** Defaults to 0o644. */
  mode?: number;
}

// --- bytes and digests -----------------------------------------------------------------------

/** `sha256:<hex>` of some bytes. */
export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** `sha512:<hex>` of some bytes. */
export function sha512(bytes: Uint8Array | string): string {
  return `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
}

/** The hex part of a digest. */
export function digestHex(digest: string): string {
  const i = digest.indexOf(':');
  return digest.slice(i + 1);
}

/** Wraps bytes as a {@link Blob}. */
export function blobOf(bytes: Buffer | string, mediaType = 'application/octet-stream'): Blob {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return { mediaType, digest: sha256(buf), size: buf.length, bytes: buf };
}

/** A descriptor of a blob, with optional extra fields. */
export function descriptorOf(blob: Blob, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size, ...extra };
}

/** A fresh random seed. */
export function randomSeed(): string {
  return randomUUID();
}

/**
 * `size` pseudo-random bytes, the same for the same seed. AES-CTR over zeros: incompressible
 * (so a gzip'd layer is as large as asked) and fast enough for layers of many MiB.
 */
export function seededBytes(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(`key:${seed}`).digest();
  const iv = createHash('sha256').update(`iv:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

// --- tar -------------------------------------------------------------------------------------

const BLOCK = 512;
/** A fixed mtime, so the same files give the same tar. */
const TAR_MTIME = 1_700_000_000;

function writeField(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value, offset, length, 'ascii');
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A ustar header block for a regular file (`typeflag` '0') or a directory ('5'). */
function tarHeader(name: string, size: number, mode: number, typeflag: '0' | '5'): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name longer than 100 bytes: ${name}`);
  const header = Buffer.alloc(BLOCK);
  writeField(header, 0, 100, name);
  writeField(header, 100, 8, octal(mode, 8));
  writeField(header, 108, 8, octal(0, 8));
  writeField(header, 116, 8, octal(0, 8));
  writeField(header, 124, 12, octal(size, 12));
  writeField(header, 136, 12, octal(TAR_MTIME, 12));
  writeField(header, 148, 8, '        '); // checksum is computed with this field as spaces
  writeField(header, 156, 1, typeflag);
  writeField(header, 257, 6, 'ustar\0');
  writeField(header, 263, 2, '00');
  writeField(header, 265, 32, 'root');
  writeField(header, 297, 32, 'root');
  let sum = 0;
  for (const byte of header) sum += byte;
  writeField(header, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return header;
}

/**
 * A POSIX ustar archive of regular files. Parent directories get their own entries (before
 * their first file) because some extractors refuse a file whose folder was never created.
 */
export function tarArchive(files: TarFile[]): Buffer {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const file of files) {
    const segments = file.name.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/') + '/';
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      parts.push(tarHeader(dir, 0, 0o755, '5'));
    }
    parts.push(tarHeader(file.name, file.content.length, file.mode ?? 0o644, '0'));
    parts.push(file.content);
    const pad = (BLOCK - (file.content.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

// --- layers, configs, manifests --------------------------------------------------------------

export interface LayerOptions {
  /** Size of the one random file in the layer (default 1024). Ignored when `files` is given. */
  size?: number;
  files?: TarFile[];
  seed?: string;
  format?: ManifestFormat;
}

/** A real gzip'd tar layer; with `size`, one file of incompressible bytes named after the seed. */
export function makeLayer(options: LayerOptions = {}): Layer {
  const seed = options.seed ?? randomSeed();
  const files = options.files ?? [
    {
      name: `berth-fixture/${createHash('sha256').update(seed).digest('hex').slice(0, 16)}.bin`,
      content: seededBytes(options.size ?? 1024, seed),
    },
  ];
  const uncompressed = tarArchive(files);
  // Node's gzip header has mtime 0 and a fixed OS byte, so the same tar gives the same blob.
  const bytes = gzipSync(uncompressed);
  const mediaType = options.format === 'docker' ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip;
  return { ...blobOf(bytes, mediaType), diffId: sha256(uncompressed), uncompressed, files };
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/** The platform of this machine in OCI terms, to pick what a daemon will pull from an index. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

export interface ImageOptions {
  format?: ManifestFormat;
  platform?: Platform;
  /** Sizes of each layer's one file (default one layer of 1 KiB). */
  layerSizes?: number[];
  /** Ready-made layers; they take the place of `layerSizes`. */
  layers?: Layer[];
  seed?: string;
  annotations?: Record<string, string>;
  /** OCI only. */
  subject?: Descriptor;
  /** OCI only. */
  artifactType?: string;
}

/** The JSON bytes of an object; `JSON.stringify` is deterministic for the same object. */
function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** A runnable-looking image: config, layers and an OCI image manifest or a Docker schema-2 one. */
export function makeImage(options: ImageOptions = {}): Image {
  const format = options.format ?? 'oci';
  const seed = options.seed ?? randomSeed();
  const platform = options.platform ?? DEFAULT_PLATFORM;
  const layers =
    options.layers ??
    (options.layerSizes ?? [1024]).map((size, i) => makeLayer({ size, seed: `${seed}/layer${i}`, format }));
  const config = blobOf(
    json({
      created: '2024-01-01T00:00:00Z',
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant === undefined ? {} : { variant: platform.variant }),
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Labels: { 'org.berth.fixture': seed },
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({
        created: '2024-01-01T00:00:00Z',
        created_by: `berth fixture layer ${i}`,
      })),
    }),
    format === 'docker' ? MediaType.dockerConfig : MediaType.ociConfig,
  );
  if (format === 'docker' && (options.subject !== undefined || options.artifactType !== undefined)) {
    throw new Error('subject and artifactType exist only in OCI manifests');
  }
  const manifestJson =
    format === 'docker'
      ? {
          schemaVersion: 2,
          mediaType: MediaType.dockerManifest,
          config: descriptorOf(config),
          layers: layers.map((l) => descriptorOf(l)),
        }
      : {
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          ...(options.artifactType === undefined ? {} : { artifactType: options.artifactType }),
          config: descriptorOf(config),
          layers: layers.map((l) => descriptorOf(l)),
          ...(options.subject === undefined ? {} : { subject: options.subject }),
          ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
        };
  const manifest = blobOf(json(manifestJson), manifestJson.mediaType);
  return { format, platform, config, layers, blobs: [config, ...layers], manifests: [], manifest };
}

export interface IndexOptions {
  format?: ManifestFormat;
  /** Default linux/amd64 and linux/arm64. */
  platforms?: Platform[];
  /** Ready-made images; they take the place of `platforms` (each keeps its own platform). */
  images?: Image[];
  layerSizes?: number[];
  seed?: string;
  annotations?: Record<string, string>;
  /** OCI only. */
  subject?: Descriptor;
  /** OCI only. */
  artifactType?: string;
}

/** A multi-platform OCI image index or Docker manifest list, with one image per platform. */
export function makeIndex(options: IndexOptions = {}): ImageIndex {
  const format = options.format ?? 'oci';
  const seed = options.seed ?? randomSeed();
  const platforms = options.platforms ?? [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
  ];
  const images =
    options.images ??
    platforms.map((platform, i) =>
      makeImage({
        format,
        platform,
        seed: `${seed}/image${i}`,
        ...(options.layerSizes ? { layerSizes: options.layerSizes } : {}),
      }),
    );
  if (format === 'docker' && (options.subject !== undefined || options.artifactType !== undefined)) {
    throw new Error('subject and artifactType exist only in OCI indexes');
  }
  const mediaType = format === 'docker' ? MediaType.dockerManifestList : MediaType.ociIndex;
  const index = blobOf(
    json({
      schemaVersion: 2,
      mediaType,
      ...(options.artifactType === undefined ? {} : { artifactType: options.artifactType }),
      manifests: images.map((image) => descriptorOf(image.manifest, { platform: image.platform })),
      ...(options.subject === undefined ? {} : { subject: options.subject }),
      ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
    }),
    mediaType,
  );
  return {
    format,
    images,
    blobs: images.flatMap((image) => image.blobs),
    manifests: images.map((image) => image.manifest),
    manifest: index,
  };
}

/** The OCI empty descriptor's content, `{}`. */
export const EMPTY_CONFIG: Blob = blobOf('{}', MediaType.ociEmpty);

export interface ArtifactOptions {
  artifactType?: string;
  subject?: Descriptor;
  /** The artifact's one layer (default a small seeded text). */
  payload?: Buffer | string;
  payloadMediaType?: string;
  annotations?: Record<string, string>;
  /**
   * `empty` (default, OCI 1.1 guidance): config is the empty descriptor and `artifactType` names
   * the type. `typed`: the older style, where the config's media type is the artifact type and
   * the manifest has no `artifactType`.
   */
  style?: 'empty' | 'typed';
  seed?: string;
}

/** An OCI artifact manifest (an image manifest with `artifactType`), usually with a `subject`. */
export function makeArtifact(options: ArtifactOptions = {}): Artifact {
  const artifactType = options.artifactType ?? 'application/vnd.berth.test.artifact';
  const seed = options.seed ?? randomSeed();
  const payload = blobOf(
    options.payload ?? `berth artifact ${seed}\n`,
    options.payloadMediaType ?? 'text/plain',
  );
  const style = options.style ?? 'empty';
  const config = style === 'empty' ? EMPTY_CONFIG : blobOf('{}', artifactType);
  const manifestJson = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    ...(style === 'empty' ? { artifactType } : {}),
    config: descriptorOf(config),
    layers: [descriptorOf(payload)],
    ...(options.subject === undefined ? {} : { subject: options.subject }),
    annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', ...options.annotations },
  };
  return {
    artifactType,
    blobs: [config, payload],
    manifests: [],
    manifest: blobOf(json(manifestJson), MediaType.ociManifest),
  };
}

// --- image layouts and archives --------------------------------------------------------------

export interface LayoutEntry {
  content: Content;
  /** Stored as `org.opencontainers.image.ref.name`: what `oci:DIR:TAG` names. */
  tag?: string;
  /** Extra annotations on the `index.json` entry (e.g. `io.containerd.image.name`). */
  annotations?: Record<string, string>;
}

/** The files of an OCI image layout holding some content: `oci-layout`, `index.json`, blobs. */
export function ociLayoutFiles(entries: LayoutEntry[]): TarFile[] {
  const blobs = new Map<string, Buffer>();
  for (const { content } of entries) {
    for (const blob of [...content.blobs, ...content.manifests, content.manifest])
      blobs.set(blob.digest, blob.bytes);
  }
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: entries.map(({ content, tag, annotations }) => {
      const all = {
        ...(tag === undefined ? {} : { 'org.opencontainers.image.ref.name': tag }),
        ...annotations,
      };
      return descriptorOf(content.manifest, Object.keys(all).length > 0 ? { annotations: all } : {});
    }),
  };
  return [
    { name: 'oci-layout', content: json({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', content: json(index) },
    ...[...blobs].map(([digest, bytes]) => ({ name: `blobs/sha256/${digestHex(digest)}`, content: bytes })),
  ];
}

/** Writes an OCI image layout folder (for `skopeo copy oci:DIR:TAG ...`); returns `dir`. */
export async function writeOciLayout(dir: string, entries: LayoutEntry[]): Promise<string> {
  for (const file of ociLayoutFiles(entries)) {
    const target = path.join(dir, file.name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
  return dir;
}

export interface ReadLayout {
  /** The descriptors in `index.json`. */
  manifests: Descriptor[];
  /** The descriptor whose `org.opencontainers.image.ref.name` is `tag`; throws when absent. */
  byTag(tag: string): Descriptor;
  /** A blob's bytes, checked against its digest. */
  blob(digest: string): Promise<Buffer>;
}

/** Reads an OCI image layout folder written by a client (e.g. `skopeo copy ... oci:DIR:TAG`). */
export async function readOciLayout(dir: string): Promise<ReadLayout> {
  const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as {
    manifests?: Descriptor[];
  };
  const manifests = index.manifests ?? [];
  return {
    manifests,
    byTag(tag) {
      const found = manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
      if (found === undefined) throw new Error(`no ${tag} in ${dir}/index.json: ${JSON.stringify(index)}`);
      return found;
    },
    async blob(digest) {
      const bytes = await readFile(path.join(dir, 'blobs', digest.split(':')[0] ?? '', digestHex(digest)));
      const actual = digest.startsWith('sha512:') ? sha512(bytes) : sha256(bytes);
      if (actual !== digest) throw new Error(`${dir}: blob ${digest} holds content with digest ${actual}`);
      return bytes;
    },
  };
}

/** An OCI image layout as one tar (for `ctr images import`). */
export function ociArchive(entries: LayoutEntry[]): Buffer {
  return tarArchive(ociLayoutFiles(entries));
}

/**
 * A `docker save` archive of one image (for `docker load`): `manifest.json`, the config, and
 * each layer as an uncompressed tar, which is what the Docker daemon loads.
 */
export function dockerArchive(image: Image, repoTags: string[]): Buffer {
  const configName = `${digestHex(image.config.digest)}.json`;
  const layerNames = image.layers.map((l) => `${digestHex(l.diffId)}/layer.tar`);
  const manifest = [{ Config: configName, RepoTags: repoTags, Layers: layerNames }];
  return tarArchive([
    { name: 'manifest.json', content: json(manifest) },
    { name: configName, content: image.config.bytes },
    ...image.layers.map((l, i) => ({ name: layerNames[i] ?? '', content: l.uncompressed })),
  ]);
}

/** The uncompressed digest of a gzip'd layer: what a registry client's `diff_ids` holds. */
export function diffIdOf(gzipped: Buffer): string {
  return sha256(gunzipSync(gzipped));
}

// --- pushing and fetching over HTTP ----------------------------------------------------------

export interface RequestOptions {
  /** Extra headers on every request, e.g. `Authorization`. */
  headers?: Record<string, string>;
}

/** A registry answered with an unexpected status. */
export class RegistryResponseError extends Error {
  constructor(
    readonly what: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${what}: unexpected status ${status}: ${body.slice(0, 2000)}`);
    this.name = 'RegistryResponseError';
  }
}

async function expectStatus(what: string, res: Response, ...ok: number[]): Promise<void> {
  if (ok.includes(res.status)) return;
  throw new RegistryResponseError(what, res.status, await res.text());
}

function locationOf(what: string, res: Response, base: string): URL {
  const location = res.headers.get('location');
  if (location === null) throw new Error(`${what}: no Location header in the ${res.status} answer`);
  // The spec allows relative or absolute Locations; resolve like a client would.
  return new URL(location, base);
}

/** Pushes a blob the common way: `POST` a session, then one `PUT ?digest=` with all the bytes. */
export async function uploadBlob(
  baseUrl: string,
  repo: string,
  blob: Blob,
  options: RequestOptions = {},
): Promise<void> {
  const what = `upload ${blob.digest} to ${repo}`;
  const post = await fetch(`${baseUrl}/v2/${repo}/blobs/uploads/`, {
    method: 'POST',
    headers: { ...options.headers },
  });
  await expectStatus(`${what} (POST)`, post, 202);
  await post.arrayBuffer();
  const url = locationOf(what, post, baseUrl);
  url.searchParams.set('digest', blob.digest);
  const put = await fetch(url, {
    method: 'PUT',
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(blob.size),
      ...options.headers,
    },
    body: blob.bytes,
  });
  await expectStatus(`${what} (PUT)`, put, 201);
  await put.arrayBuffer();
}

/** `PUT /v2/<repo>/manifests/<reference>` with the manifest's own media type; 201 expected. */
export async function putManifest(
  baseUrl: string,
  repo: string,
  reference: string,
  manifest: Blob,
  options: RequestOptions = {},
): Promise<Response> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': manifest.mediaType, ...options.headers },
    body: manifest.bytes,
  });
  await expectStatus(`put manifest ${repo}:${reference}`, res, 201);
  await res.arrayBuffer();
  return res;
}

/**
 * Pushes content in order: blobs, child manifests by digest, then the manifest by `tag` (or by
 * its digest when no tag is given).
 */
export async function pushContent(
  baseUrl: string,
  repo: string,
  content: Content,
  tag?: string,
  options: RequestOptions = {},
): Promise<void> {
  const seen = new Set<string>();
  for (const blob of content.blobs) {
    if (seen.has(blob.digest)) continue;
    seen.add(blob.digest);
    await uploadBlob(baseUrl, repo, blob, options);
  }
  for (const child of content.manifests) await putManifest(baseUrl, repo, child.digest, child, options);
  await putManifest(baseUrl, repo, tag ?? content.manifest.digest, content.manifest, options);
}

export interface FetchedManifest {
  status: number;
  contentType: string | null;
  /** The `Docker-Content-Digest` header. */
  digestHeader: string | null;
  bytes: Buffer;
}

/** `GET /v2/<repo>/manifests/<reference>`, accepting every manifest media type by default. */
export async function getManifest(
  baseUrl: string,
  repo: string,
  reference: string,
  options: RequestOptions & { accept?: string } = {},
): Promise<FetchedManifest> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${reference}`, {
    headers: { accept: options.accept ?? ACCEPT_ALL_MANIFESTS, ...options.headers },
  });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    digestHeader: res.headers.get('docker-content-digest'),
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

/** `GET /v2/<repo>/blobs/<digest>`, following redirects; throws unless 200. */
export async function getBlob(
  baseUrl: string,
  repo: string,
  digest: string,
  options: RequestOptions = {},
): Promise<Buffer> {
  const res = await fetch(`${baseUrl}/v2/${repo}/blobs/${digest}`, { headers: { ...options.headers } });
  await expectStatus(`get blob ${repo}@${digest}`, res, 200);
  return Buffer.from(await res.arrayBuffer());
}

/** `GET /v2/<repo>/tags/list`; throws unless 200. */
export async function listTags(
  baseUrl: string,
  repo: string,
  options: RequestOptions = {},
): Promise<string[]> {
  const res = await fetch(`${baseUrl}/v2/${repo}/tags/list`, { headers: { ...options.headers } });
  await expectStatus(`list tags of ${repo}`, res, 200);
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}
