/**
 * The UI's static files (`src/ui/static/`), read once at start-up and served from memory. There is
 * no front-end build: the files are hand-written ES modules and CSS, served as they are. They live
 * in the source tree and are found relative to this module, which works both from `src/ui/` and from
 * the compiled `dist/src/ui/`.
 *
 * Assets are served under a path that contains a hash of all of them
 * (`/_berth/ui/static/<hash>/app.js`), so browsers may cache them forever and a new Berth version
 * is picked up at once; relative imports between modules stay inside that versioned folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const ASSET_PREFIX = '/_berth/ui/static/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
  /** Present when compressing saved space. */
  readonly gzip?: Buffer;
  readonly etag: string;
}

/** Where the static files are: `<project>/src/ui/static`, whether this file runs from src or dist. */
export function defaultStaticDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'static'), path.resolve(here, '../../../src/ui/static')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? candidates[1]!;
}

function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(full).isDirectory()) out.push(...walk(full, rel));
    else out.push(rel);
  }
  return out;
}

function makeAsset(body: Buffer, contentType: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  const compressible = !contentType.startsWith('image/png') && !contentType.startsWith('font/');
  const gzip = compressible && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
  return { contentType, body, etag, ...(gzip && gzip.length < body.length ? { gzip } : {}) };
}

export class StaticAssets {
  /** Assets by path relative to the static folder (`pages/login.js`). */
  private readonly files = new Map<string, Asset>();
  /** A hash over every asset: the versioned folder they are served from. */
  readonly version: string;
  /** index.html with the asset folder filled in. */
  readonly page: Asset;

  constructor(dir: string = defaultStaticDir()) {
    const hash = createHash('sha256');
    for (const rel of walk(dir)) {
      const type = CONTENT_TYPES[path.extname(rel)];
      if (!type) continue;
      const body = readFileSync(path.join(dir, rel));
      hash.update(rel).update('\0').update(body).update('\0');
      this.files.set(rel, makeAsset(body, type));
    }
    const index = this.files.get('index.html');
    if (!index) throw new Error(`the web UI's index.html is missing from ${dir}`);
    this.version = hash.digest('hex').slice(0, 16);
    const base = `${ASSET_PREFIX}${this.version}/`;
    // Every module announced up front, so the browser fetches them in parallel instead of
    // discovering them import by import.
    const preloads = [...this.files.keys()]
      .filter((rel) => rel.endsWith('.js') && rel !== 'app.js')
      .map((rel) => `<link rel="modulepreload" href="${base}${rel}" />`)
      .join('\n    ');
    const html = index.body
      .toString('utf8')
      .replaceAll('{{PRELOADS}}', preloads)
      .replaceAll('{{ASSETS}}', base);
    this.page = makeAsset(Buffer.from(html), CONTENT_TYPES['.html']!);
  }

  /**
   * The asset a request path names (`/_berth/ui/static/<version>/app.js`). Paths of an older
   * version are still served (a tab opened before an upgrade keeps working), only not cached forever.
   */
  lookup(pathname: string): { asset: Asset; current: boolean } | undefined {
    if (!pathname.startsWith(ASSET_PREFIX)) return undefined;
    const rest = pathname.slice(ASSET_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return undefined;
    const rel = rest.slice(slash + 1);
    if (rel === 'index.html' || rel.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      return undefined;
    }
    const asset = this.files.get(rel);
    return asset && { asset, current: rest.slice(0, slash) === this.version };
  }
}
