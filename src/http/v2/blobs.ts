/** `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>` */
import { parseDigest } from '../../oci/digest.js';
import type { RequestContext } from '../context.js';
import { parseRange } from '../range.js';
import { sendEmpty } from '../respond.js';
import type { V2Deps } from './deps.js';

export async function getBlob(
  ctx: RequestContext,
  deps: V2Deps,
  name: string,
  digestText: string,
): Promise<void> {
  const digest = parseDigest(digestText);
  const local = await deps.registry.blobs.stat(name, digest);
  if (!local && deps.pullThrough && (await deps.pullThrough.serveBlob(ctx, name, digest.value))) return;
  const info = local ?? (await deps.registry.blobs.require(name, digest));
  const headers = {
    'Docker-Content-Digest': info.digest,
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: `"${info.digest}"`,
    'Cache-Control': 'max-age=31536000',
  };
  const range = parseRange(ctx.req.headers.range, info.size);
  if (range.kind === 'unsatisfiable') {
    sendEmpty(ctx, 416, { ...headers, 'Content-Range': `bytes */${info.size}` });
    return;
  }
  if (ctx.req.method === 'GET') {
    // storage.redirectBlobURL: the object store serves the bytes (and the Range) itself.
    const location = await deps.registry.blobs.redirectUrl(name, digest, 'GET');
    if (location !== undefined) {
      sendEmpty(ctx, 307, { Location: location, 'Docker-Content-Digest': info.digest });
      return;
    }
  }
  if (ctx.req.method === 'HEAD') {
    ctx.res.writeHead(200, { ...headers, 'Content-Length': info.size });
    ctx.res.end();
    return;
  }
  if (range.kind === 'partial') {
    const length = range.end - range.start + 1;
    // Headers go out once the file is open: a blob deleted since the stat still gets its 404.
    await deps.registry.blobs.send(name, digest, ctx.res, {
      range: { offset: range.start, length },
      onOpen: () =>
        ctx.res.writeHead(206, {
          ...headers,
          'Content-Length': length,
          'Content-Range': `bytes ${range.start}-${range.end}/${info.size}`,
        }),
    });
    ctx.res.end();
    return;
  }
  await deps.registry.blobs.send(name, digest, ctx.res, {
    onOpen: () => ctx.res.writeHead(200, { ...headers, 'Content-Length': info.size }),
  });
  ctx.res.end();
}

export async function deleteBlob(
  ctx: RequestContext,
  deps: V2Deps,
  name: string,
  digestText: string,
): Promise<void> {
  const digest = parseDigest(digestText);
  await deps.registry.blobs.delete(name, digest);
  sendEmpty(ctx, 202, { 'Docker-Content-Digest': digest.value });
}
