import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../oci/errors.js';

/** The declared Content-Length, or undefined when the body is chunked or absent. */
export function contentLength(req: IncomingMessage): number | undefined {
  const value = req.headers['content-length'];
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new RegistryError('SIZE_INVALID', 'invalid Content-Length');
  return Number(value);
}

/** Reads a small body whole (manifests), refusing more than `limit` bytes with 413. */
export async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = contentLength(req);
  const tooLarge = (): RegistryError =>
    new RegistryError('TOO_LARGE', `body larger than ${limit} bytes`, { detail: { limit } });
  if (declared !== undefined && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of req) {
      total += (chunk as Buffer).length;
      if (total > limit) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError('SIZE_INVALID', 'request body was interrupted', { cause: err });
  }
  if (declared !== undefined && total !== declared) {
    throw new RegistryError('SIZE_INVALID', `received ${total} bytes, Content-Length said ${declared}`);
  }
  return Buffer.concat(chunks, total);
}
