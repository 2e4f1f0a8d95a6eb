/**
 * The registry operations the benchmark times, spoken in plain OCI Distribution HTTP so that
 * Berth and CNCF Distribution are driven by exactly the same requests.
 */
import type { HttpClient } from './http-client.js';
import { encodeRequest, type RawConnection } from './raw-client.js';
import {
  MANIFEST_MEDIA_TYPE,
  type BlobRef,
  type LargeBlob,
  type SmallBlob,
  type SmallImage,
} from './content.js';

/**
 * Uploads a blob with a session `POST` then a single `PUT ?digest=` carrying the body. Both
 * registries accept this flow (Distribution 2.8 ignores a body on `POST ?digest=`), and it is
 * what the Docker client does for a blob that fits one request.
 */
export async function pushBlob(client: HttpClient, repo: string, blob: SmallBlob | LargeBlob): Promise<void> {
  const started = await client.expect(202, 'POST', `/v2/${repo}/blobs/uploads/`);
  const location = started.headers.location;
  if (location === undefined) throw new Error(`POST /v2/${repo}/blobs/uploads/: no Location header`);
  const upload = client.resolve(location);
  const sep = upload.includes('?') ? '&' : '?';
  const body = 'bytes' in blob ? blob.bytes : { length: blob.size, chunks: blob.chunks() };
  await client.expect(201, 'PUT', `${upload}${sep}digest=${encodeURIComponent(blob.digest)}`, {
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
}

export async function putManifest(
  client: HttpClient,
  repo: string,
  ref: string,
  manifest: Buffer,
): Promise<void> {
  await client.expect(201, 'PUT', `/v2/${repo}/manifests/${ref}`, {
    headers: { 'content-type': MANIFEST_MEDIA_TYPE },
    body: manifest,
  });
}

/** Pushes an image the way a client does: its blobs, then its manifest under `tag`. */
export async function pushSmallImage(
  client: HttpClient,
  repo: string,
  tag: string,
  image: SmallImage,
): Promise<void> {
  await pushBlob(client, repo, image.layer);
  await pushBlob(client, repo, image.config);
  await putManifest(client, repo, tag, image.manifest);
}

/** `GET` a whole blob, draining it; returns the bytes received after checking the count. */
export async function getBlob(client: HttpClient, repo: string, blob: BlobRef): Promise<number> {
  const reply = await client.expect(200, 'GET', `/v2/${repo}/blobs/${blob.digest}`);
  if (reply.bytes !== blob.size) throw new Error(`GET blob: ${reply.bytes} bytes, expected ${blob.size}`);
  return reply.bytes;
}

/** The next page of a `Link: <url>; rel="next"` header, if any. */
function nextLink(link: string | string[] | undefined): string | undefined {
  const value = Array.isArray(link) ? link.join(', ') : link;
  const match = value === undefined ? null : /<([^>]+)>\s*;\s*rel="?next"?/.exec(value);
  return match?.[1];
}

export interface CatalogWalk {
  repositories: number;
  pages: number;
  bytes: number;
}

/**
 * Walks `_catalog` to its end, following `Link` headers. `pageSize` undefined asks without `n`:
 * the server picks the page (Berth answers everything at once, Distribution pages by 100).
 */
export async function walkCatalog(client: HttpClient, pageSize: number | undefined): Promise<CatalogWalk> {
  let path: string | undefined = pageSize === undefined ? '/v2/_catalog' : `/v2/_catalog?n=${pageSize}`;
  const walk: CatalogWalk = { repositories: 0, pages: 0, bytes: 0 };
  while (path !== undefined) {
    const reply = await client.expect(200, 'GET', path, { keepBody: true });
    const parsed = JSON.parse(reply.body?.toString('utf8') ?? '{}') as { repositories?: unknown[] };
    walk.repositories += parsed.repositories?.length ?? 0;
    walk.pages += 1;
    walk.bytes += reply.bytes;
    const next = nextLink(reply.headers.link);
    path = next === undefined ? undefined : client.resolve(next);
  }
  return walk;
}

/**
 * {@link walkCatalog} on a raw keep-alive connection: the same requests, with the load generator's
 * own CPU per page a fraction of node:http's (on 2 shared cores that cost capped the walk rate
 * the server could show).
 */
export async function walkCatalogRaw(
  connection: RawConnection,
  host: string,
  pageSize: number | undefined,
): Promise<CatalogWalk> {
  let path: string | undefined = pageSize === undefined ? '/v2/_catalog' : `/v2/_catalog?n=${pageSize}`;
  const walk: CatalogWalk = { repositories: 0, pages: 0, bytes: 0 };
  while (path !== undefined) {
    const reply = await connection.request(encodeRequest('GET', host, path), false, true);
    if (reply.status !== 200) throw new Error(`GET ${path}: ${reply.status}`);
    const parsed = JSON.parse(reply.body?.toString('utf8') ?? '{}') as { repositories?: unknown[] };
    walk.repositories += parsed.repositories?.length ?? 0;
    walk.pages += 1;
    walk.bytes += reply.bytes;
    // The raw client lower-cases the header block; the link target keeps its case in the request
    // only through the repository names, which are lower-case by the spec's grammar.
    const link = /\r\nlink:\s*<([^>]+)>\s*;\s*rel="?next"?/.exec(`\r\n${reply.head}`);
    const next = link?.[1] === undefined ? undefined : new URL(link[1], 'http://registry.invalid');
    path = next === undefined ? undefined : `${next.pathname}${next.search}`;
  }
  return walk;
}
