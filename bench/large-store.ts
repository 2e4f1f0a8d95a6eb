/**
 * The large store the UI and search benchmarks measure against: `--tags` real images pushed through
 * the API into one template repository, then copied in SQL into `--repos` repositories (see
 * bench/ui.ts for the whole method), and the timing summary both report.
 */
import { link, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeImage, makeIndex, pushContent } from '../test/support/fixtures.js';
import type { RunningServer } from '../test/support/server.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

export const TEMPLATE = 'bench/template';
export const SAMPLE_REPOS = 100;
const YEAR_MS = 365 * 24 * 3600 * 1000;

export function repoName(i: number): string {
  // Two levels, like team/app: names spread over 100 teams.
  return `team-${String(i % 100).padStart(2, '0')}/app-${String(i).padStart(5, '0')}`;
}

export const ADMIN = { user: 'admin', password: 'bench-admin-password' };

/** A repository policy with several patterns, so authorisation costs what it would in production. */
export function benchConfig(
  htpasswd: string,
  extensions: Record<string, unknown> = { ui: { enable: true } },
): Record<string, unknown> {
  return {
    storage: { gc: false, dedupe: true },
    http: {
      auth: { htpasswd: { path: htpasswd } },
      accessControl: {
        adminPolicy: { users: [ADMIN.user], actions: ['read', 'create', 'update', 'delete'] },
        repositories: {
          '**': { anonymousPolicy: ['read'], defaultPolicy: ['read'] },
          'team-0*/**': { anonymousPolicy: ['read'] },
          'team-1*/**': { anonymousPolicy: ['read'] },
          'team-99/**': { anonymousPolicy: [] },
          'private/**': { anonymousPolicy: [] },
        },
      },
    },
    extensions,
  };
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export async function pushTemplate(server: RunningServer, tags: number): Promise<void> {
  for (let i = 0; i < tags; i++) {
    const tag = `1.${Math.floor(i / 10)}.${i % 10}`;
    const sizes = [512 + ((i * 7919) % 4096), 2048 + ((i * 104729) % 65536)];
    const content =
      i % 10 === 9
        ? makeIndex({
            layerSizes: sizes,
            platforms: [
              { os: 'linux', architecture: 'amd64' },
              { os: 'linux', architecture: 'arm64', variant: 'v8' },
            ],
          })
        : makeImage({ layerSizes: sizes });
    await pushContent(server.url, TEMPLATE, content, tag, {
      headers: { Authorization: basic(ADMIN.user, ADMIN.password) },
    });
  }
}

/** Copies the template's rows into `repos` repositories, with their own folders and stamps. */
export async function cloneTemplate(root: string, repos: number): Promise<void> {
  const db = new Database(path.join(root, '_berth', 'meta.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  // Millions of rows land in B-trees keyed by digest (random order): keep the pages in memory.
  db.pragma('cache_size = -2000000');
  const indexJson = await readFile(path.join(root, TEMPLATE, 'index.json'));
  const latest = db.prepare('SELECT MAX(pushed_at) FROM tags WHERE repo = ?').pluck().get(TEMPLATE) as number;
  const s = {
    repo: db.prepare('INSERT INTO repositories (name, index_stamp, created_at) VALUES (?, ?, ?)'),
    manifests: db.prepare(
      `INSERT INTO manifests (repo, digest, media_type, size, artifact_type, subject, annotations, pushed_at)
       SELECT @name, digest, media_type, size, artifact_type, subject, annotations, pushed_at - @shift FROM manifests WHERE repo = @template`,
    ),
    tags: db.prepare(
      'INSERT INTO tags (repo, tag, digest, pushed_at) SELECT @name, tag, digest, pushed_at - @shift FROM tags WHERE repo = @template',
    ),
    refs: db.prepare(
      'INSERT INTO manifest_refs (repo, manifest, ref) SELECT @name, manifest, ref FROM manifest_refs WHERE repo = @template',
    ),
    // Layer sizes vary per repository, so that sorting by size means something.
    blobs: db.prepare(
      `INSERT INTO blobs (digest, repo, size)
       SELECT digest, @name, CASE WHEN size > 4096 THEN size * @factor ELSE size END FROM blobs WHERE repo = @template`,
    ),
  };
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const batch = 500;
  for (let start = 0; start < repos; start += batch) {
    const rows: { name: string; stamp: string; shift: number; factor: number }[] = [];
    for (let i = start; i < Math.min(repos, start + batch); i++) {
      const name = repoName(i);
      const dir = path.join(root, name);
      await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
      await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      await writeFile(path.join(dir, 'index.json'), indexJson);
      const info = await stat(path.join(dir, 'index.json'));
      rows.push({
        name,
        stamp: `${info.size}:${info.mtime.getTime()}`,
        shift: Math.floor(random() * YEAR_MS),
        factor: 1 + Math.floor(random() * 40),
      });
    }
    db.transaction(() => {
      for (const row of rows) {
        const params = { name: row.name, template: TEMPLATE, shift: row.shift, factor: row.factor };
        s.repo.run(row.name, row.stamp, latest - row.shift);
        s.manifests.run(params);
        s.tags.run(params);
        s.refs.run(params);
        s.blobs.run(params);
      }
    })();
    if ((start / batch) % 4 === 3) log(`  ${Math.min(repos, start + batch).toLocaleString()} repositories`);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  // The sample repositories get the template's blob files too (hard links), for the image page.
  const blobDir = path.join(root, TEMPLATE, 'blobs', 'sha256');
  const files = await readdir(blobDir);
  for (let i = 0; i < Math.min(SAMPLE_REPOS, repos); i++) {
    const dir = path.join(root, repoName(sampleIndex(i, repos)), 'blobs', 'sha256');
    for (const file of files) await link(path.join(blobDir, file), path.join(dir, file));
  }
}

/** Sample repositories spread over the whole range. */
export function sampleIndex(i: number, repos: number): number {
  return Math.floor((i * repos) / Math.min(SAMPLE_REPOS, repos));
}

export interface Timing {
  page: string;
  request: string;
  samples: number;
  p50: number;
  p95: number;
  max: number;
}

export function summarise(page: string, request: string, ms: number[]): Timing {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return {
    page,
    request,
    samples: ms.length,
    p50: at(50),
    p95: at(95),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}
