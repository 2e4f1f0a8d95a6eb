/**
 * How cost grows with the store: each operation timed at three sizes, so a row whose time grows
 * faster than its size shows itself. A benchmark, never a test.
 *
 *   node dist/bench/scaling.js [--repos 300,1000,3000] [--tags 1000,10000,100000]
 *                              [--gc-images 300,1000,3000] [--samples 30] [--json FILE]
 *
 * Stores are written as OCI layouts directly (creating them through the API would take hours):
 * every repository gets its folder, `oci-layout`, an `index.json` and hard links to one template
 * image's three blob files (manifest, config, layer). Berth's start-up reconciliation then builds
 * the metadata index from those layouts, which is itself one of the rows (start-up time and RSS).
 *
 * - repository stores (`--repos`): N repositories of one tagged manifest each: catalog first page
 *   and full walk (`n=100`), manifest GET by tag, start-up, the UI's repository list and one
 *   repository's page, the GraphQL search queries of zot's UI (`search-queries.ts`), and a push
 *   of the template image into a new repository (its blobs held by every repository).
 * - tag stores (`--tags`): one repository with N tags (all on the template manifest): tag list
 *   (whole, and the first page of 100), manifest GET by tag, start-up, the UI's repository page,
 *   the search queries that read one repository's tags, and a manifest PUT under a new tag.
 * - GC sweep by blob count: `dist/bench/gc.js` at `--gc-images` (three blobs per image).
 *
 * Each figure is the median of `--samples` requests on one keep-alive connection, with Berth's CPU
 * per operation (all threads, /proc schedstat) beside it: on a shared machine the CPU figure moves
 * much less than the wall time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI } from '../test/support/server.js';
import { buildStore, OCI_MANIFEST, repoName, sha256, templateImage } from './layout-store.js';
import { ProcessWatch } from './memory.js';
import { QUERIES } from './search-queries.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

interface Row {
  operation: string;
  dimension: string;
  size: number;
  /** Median wall milliseconds per operation. */
  ms: number;
  /** Berth's CPU milliseconds per operation. */
  cpuMs?: number;
  note?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function request(
  base: string,
  method: string,
  pathAndQuery: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ status: number; body: string; link?: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${pathAndQuery}`, { method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const { link, location } = res.headers;
        resolve({
          status: res.statusCode ?? 0,
          body: text,
          ...(typeof link === 'string' ? { link } : {}),
          ...(location !== undefined ? { location } : {}),
        });
      });
      res.on('error', reject);
    });
    req.once('error', reject);
    req.end(body);
  });
}

function get(base: string, pathAndQuery: string, headers: Record<string, string> = {}) {
  return request(base, 'GET', pathAndQuery, headers);
}

/** Sends one request and fails unless it is answered with `status`. */
async function expect(
  status: number,
  base: string,
  method: string,
  pathAndQuery: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ location?: string }> {
  const res = await request(base, method, pathAndQuery, headers, body);
  if (res.status !== status)
    throw new Error(
      `${method} ${pathAndQuery}: ${res.status}, expected ${status}: ${res.body.slice(0, 200)}`,
    );
  return res;
}

/** Pushes the template image (which every repository of the store holds) into `repo`, as a client does. */
async function pushTemplate(base: string, repo: string): Promise<void> {
  const image = templateImage();
  for (const blob of [image.layer, image.config]) {
    const { location } = await expect(202, base, 'POST', `/v2/${repo}/blobs/uploads/`);
    if (location === undefined) throw new Error('POST: no Location');
    const sep = location.includes('?') ? '&' : '?';
    const at = new URL(location, base);
    await expect(
      201,
      base,
      'PUT',
      `${at.pathname}${at.search}${sep}digest=sha256:${sha256(blob)}`,
      { 'content-type': 'application/octet-stream' },
      blob,
    );
  }
  await expect(
    201,
    base,
    'PUT',
    `/v2/${repo}/manifests/latest`,
    { 'content-type': OCI_MANIFEST },
    image.manifest,
  );
}

/** Times `samples` runs of `op` one after another; median wall ms and Berth's CPU ms per run. */
async function time(
  berth: Berth,
  samples: number,
  op: (i: number) => Promise<void>,
): Promise<{ ms: number; cpuMs: number }> {
  await op(0); // warm: the first request pays for lazily built state (reported as start-up)
  const watch = new ProcessWatch(berth.pid);
  const ms: number[] = [];
  watch.start();
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await op(i);
    ms.push(performance.now() - started);
  }
  const usage = watch.stop();
  return { ms: median(ms), cpuMs: (usage.cpuSeconds * 1000) / samples };
}

async function ok(
  base: string,
  pathAndQuery: string,
  headers?: Record<string, string>,
): Promise<{ body: string; link?: string }> {
  const res = await get(base, pathAndQuery, headers);
  if (res.status !== 200) throw new Error(`${pathAndQuery}: ${res.status} ${res.body.slice(0, 200)}`);
  return res;
}

async function catalogWalk(base: string): Promise<number> {
  let next: string | undefined = '/v2/_catalog?n=100';
  let seen = 0;
  while (next) {
    const res = await ok(base, next);
    seen += (JSON.parse(res.body) as { repositories: string[] }).repositories.length;
    next = res.link ? /<([^>]+)>/.exec(res.link)?.[1] : undefined;
  }
  return seen;
}

function rssOf(pid: number): number {
  const status = execFileSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' });
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

interface Berth {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts Berth on a built store (test/support's starter gives up after 20 s; reconciling a large
 * store takes longer); returns it with its start-up time (spawn to listening) and RSS.
 */
async function start(root: string): Promise<{ berth: Berth; seconds: number; rssMiB: number }> {
  const configPath = `${root}.config.json`;
  await writeFile(
    configPath,
    JSON.stringify({
      distSpecVersion: '1.1.0',
      storage: { rootDirectory: root, gc: false },
      http: { address: '127.0.0.1', port: '0' },
      log: { level: 'warn' },
      extensions: { ui: { enable: true }, search: { enable: true } },
    }),
  );
  const started = performance.now();
  const proc = spawn(process.execPath, [CLI, 'serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let out = '';
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    proc.once('exit', (code) => reject(new Error(`berth exited with ${code}:\n${out}`)));
  });
  const seconds = (performance.now() - started) / 1000;
  const pid = proc.pid ?? 0;
  const berth: Berth = {
    url: `http://127.0.0.1:${port}`,
    pid,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
      await rm(configPath, { force: true });
    },
  };
  return { berth, seconds, rssMiB: rssOf(pid) / 2 ** 20 };
}

const UI_HEADERS = { 'X-ZOT-API-CLIENT': 'zot-ui' };

/** Asks the search extension one GraphQL query; fails on any error in the answer. */
async function search(base: string, query: string): Promise<unknown> {
  const res = await ok(base, `/v2/_zot/ext/search?query=${encodeURIComponent(query)}`);
  const body = JSON.parse(res.body) as { data?: unknown; errors?: unknown };
  if (body.errors !== undefined) throw new Error(`${query.slice(0, 80)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** GlobalSearch's repository count (`Page.TotalCount`). */
function totalCount(data: unknown): number {
  return (data as { GlobalSearch: { Page: { TotalCount: number } } }).GlobalSearch.Page.TotalCount;
}

async function measureRepoStore(
  work: string,
  repos: number,
  samples: number,
  rows: Row[],
  log: (s: string) => void,
): Promise<void> {
  const root = await mkdtemp(path.join(work, `repos-${repos}-`));
  const built = await buildStore(root, repos, 1);
  log(`${repos} repositories written in ${built.toFixed(1)} s`);
  const { berth, seconds, rssMiB } = await start(root);
  const dim = 'repositories';
  try {
    rows.push({
      operation: 'start-up (reconcile), to serving',
      dimension: 'manifests',
      size: repos,
      ms: seconds * 1000,
      note: `RSS ${rssMiB.toFixed(0)} MiB`,
    });
    const firstPage = await time(
      berth,
      samples,
      async () => void (await ok(berth.url, '/v2/_catalog?n=100')),
    );
    rows.push({ operation: 'catalog, first page (n=100)', dimension: dim, size: repos, ...firstPage });
    const last = repoName(repos - 150);
    const latePage = await time(
      berth,
      samples,
      async () => void (await ok(berth.url, `/v2/_catalog?n=100&last=${last}`)),
    );
    rows.push({
      operation: 'catalog, a page near the end (n=100)',
      dimension: dim,
      size: repos,
      ...latePage,
    });
    const walks = Math.max(3, Math.round(samples / 5));
    const walk = await time(berth, walks, async () => {
      const seen = await catalogWalk(berth.url);
      if (seen !== repos) throw new Error(`walk saw ${seen} of ${repos}`);
    });
    rows.push({ operation: 'catalog, full walk (n=100)', dimension: dim, size: repos, ...walk });
    const full = await time(berth, walks, async () => void (await ok(berth.url, '/v2/_catalog')));
    rows.push({ operation: 'catalog, whole (no n)', dimension: dim, size: repos, ...full });
    const manifest = await time(berth, samples * 10, async (i) => {
      await ok(berth.url, `/v2/${repoName((i * 7919) % repos)}/manifests/t000000`, { accept: OCI_MANIFEST });
    });
    rows.push({ operation: 'manifest GET by tag', dimension: dim, size: repos, ...manifest });
    const uiList = await time(
      berth,
      samples,
      async () => void (await ok(berth.url, '/_berth/ui/api/repositories', UI_HEADERS)),
    );
    rows.push({ operation: 'UI repository list (first page)', dimension: dim, size: repos, ...uiList });
    const uiRepo = await time(berth, samples, async (i) => {
      await ok(
        berth.url,
        `/_berth/ui/api/repository?name=${encodeURIComponent(repoName((i * 7919) % repos))}&perPage=100`,
        UI_HEADERS,
      );
    });
    rows.push({ operation: 'UI repository page', dimension: dim, size: repos, ...uiRepo });
    await measureRepoSearch(berth, repos, samples, rows);
    rows.push({
      operation: 'RSS after the above',
      dimension: dim,
      size: repos,
      ms: 0,
      note: `${(rssOf(berth.pid) / 2 ** 20).toFixed(0)} MiB`,
    });
    // Last, as it adds repositories: a push whose blobs every repository of the store holds
    // already (a shared base image), which the registry links instead of writing.
    let pushed = 0; // a new repository each time, the warm-up's included
    const shared = await time(berth, samples, () => pushTemplate(berth.url, `scale/pushed${pushed++}`));
    rows.push({
      operation: 'push of an image every repository holds',
      dimension: dim,
      size: repos,
      ...shared,
    });
  } finally {
    await berth.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/** The search extension's queries on a store of `repos` repositories (one tag each). */
async function measureRepoSearch(berth: Berth, repos: number, samples: number, rows: Row[]): Promise<void> {
  const dim = 'repositories';
  // The first query after start-up pays for the summaries start-up did not compute.
  const started = performance.now();
  const total = totalCount(await search(berth.url, QUERIES.home('DOWNLOADS')));
  if (total !== repos) throw new Error(`GlobalSearch counted ${total} of ${repos} repositories`);
  rows.push({
    operation: 'search: first query after start-up',
    dimension: dim,
    size: repos,
    ms: performance.now() - started,
  });
  const home = await time(
    berth,
    samples,
    async () => void (await search(berth.url, QUERIES.home('DOWNLOADS'))),
  );
  rows.push({ operation: 'search: home page, 10 most downloaded', dimension: dim, size: repos, ...home });
  const recent = await time(
    berth,
    samples,
    async () => void (await search(berth.url, QUERIES.home('UPDATE_TIME'))),
  );
  rows.push({ operation: 'search: home page, 10 recently updated', dimension: dim, size: repos, ...recent });
  // What the search box sends while a name is typed: `r0`, `r00`, … `r000123`.
  const typed = repoName(Math.floor(repos / 2)).split('/')[1]!;
  const typing = await time(berth, samples, async (i) => {
    await search(berth.url, QUERIES.suggestions(typed.slice(0, 2 + (i % (typed.length - 1)))));
  });
  rows.push({ operation: 'search: typing a repository name', dimension: dim, size: repos, ...typing });
  const list = await time(berth, samples, async () => void (await search(berth.url, QUERIES.repoList())));
  rows.push({ operation: 'search: RepoListWithNewestImage (15)', dimension: dim, size: repos, ...list });
  const expanded = await time(berth, samples, async (i) => {
    await search(berth.url, QUERIES.expanded(repoName((i * 7919) % repos)));
  });
  rows.push({ operation: 'search: ExpandedRepoInfo', dimension: dim, size: repos, ...expanded });
}

async function measureTagStore(
  work: string,
  tags: number,
  samples: number,
  rows: Row[],
  log: (s: string) => void,
): Promise<void> {
  const root = await mkdtemp(path.join(work, `tags-${tags}-`));
  const built = await buildStore(root, 1, tags);
  log(`1 repository with ${tags} tags written in ${built.toFixed(1)} s`);
  const { berth, seconds, rssMiB } = await start(root);
  const repo = repoName(0);
  const dim = 'tags in the repository';
  try {
    rows.push({
      operation: 'start-up (reconcile), to serving',
      dimension: dim,
      size: tags,
      ms: seconds * 1000,
      note: `RSS ${rssMiB.toFixed(0)} MiB`,
    });
    const whole = await time(berth, Math.max(3, Math.round(samples / 5)), async () => {
      const res = await ok(berth.url, `/v2/${repo}/tags/list`);
      const seen = (JSON.parse(res.body) as { tags: string[] }).tags.length;
      if (seen !== tags) throw new Error(`tag list had ${seen} of ${tags}`);
    });
    rows.push({ operation: 'tag list, whole', dimension: dim, size: tags, ...whole });
    const page = await time(
      berth,
      samples,
      async () => void (await ok(berth.url, `/v2/${repo}/tags/list?n=100`)),
    );
    rows.push({ operation: 'tag list, first page (n=100)', dimension: dim, size: tags, ...page });
    const late = `t${String(tags - 150).padStart(6, '0')}`;
    const latePage = await time(
      berth,
      samples,
      async () => void (await ok(berth.url, `/v2/${repo}/tags/list?n=100&last=${late}`)),
    );
    rows.push({
      operation: 'tag list, a page near the end (n=100)',
      dimension: dim,
      size: tags,
      ...latePage,
    });
    const manifest = await time(berth, samples * 10, async (i) => {
      await ok(berth.url, `/v2/${repo}/manifests/t${String((i * 7919) % tags).padStart(6, '0')}`, {
        accept: OCI_MANIFEST,
      });
    });
    rows.push({ operation: 'manifest GET by tag', dimension: dim, size: tags, ...manifest });
    const uiRepo = await time(berth, samples, async () => {
      await ok(
        berth.url,
        `/_berth/ui/api/repository?name=${encodeURIComponent(repo)}&perPage=100`,
        UI_HEADERS,
      );
    });
    rows.push({ operation: 'UI repository page', dimension: dim, size: tags, ...uiRepo });
    const tagSearch = await time(
      berth,
      samples,
      async () => void (await search(berth.url, QUERIES.tags(repo, 't0'))),
    );
    rows.push({ operation: 'search: tags of one repository (15)', dimension: dim, size: tags, ...tagSearch });
    const expanded = await time(
      berth,
      Math.max(3, Math.round(samples / 5)),
      async () => void (await search(berth.url, QUERIES.expanded(repo))),
    );
    rows.push({ operation: 'search: ExpandedRepoInfo (every tag)', dimension: dim, size: tags, ...expanded });
    // Last, as it adds tags: the repository's index.json (every tag) is rewritten by each push.
    const { manifest: manifestBytes } = templateImage();
    let tagged = 0;
    const tagPush = await time(berth, samples, async () => {
      const tag = `new${String(tagged++).padStart(6, '0')}`;
      await expect(
        201,
        berth.url,
        'PUT',
        `/v2/${repo}/manifests/${tag}`,
        { 'content-type': OCI_MANIFEST },
        manifestBytes,
      );
    });
    rows.push({ operation: 'manifest PUT of a new tag', dimension: dim, size: tags, ...tagPush });
  } finally {
    await berth.stop();
    await rm(root, { recursive: true, force: true });
  }
}

function measureGc(images: number, rows: Row[]): void {
  const out = execFileSync(
    process.execPath,
    [path.join(import.meta.dirname, 'gc.js'), '--images', String(images), '--repos', '10'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const json = out.trim().split('\n').pop() ?? '{}';
  const result = JSON.parse(json) as { results: { name: string; seconds: number; scanned: number }[] };
  for (const r of result.results) {
    if (r.name === 'dry run' || r.name === 'sweep, nothing to remove') {
      rows.push({
        operation: `GC ${r.name}`,
        dimension: 'blob files',
        size: images * 3,
        ms: r.seconds * 1000,
        note: `${r.scanned} blobs examined`,
      });
    }
  }
}

function table(rows: Row[]): string {
  const lines = [
    '| operation | grows with | size | median ms | Berth CPU ms/op | note |',
    '|---|---|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.operation} | ${r.dimension} | ${r.size.toLocaleString('en')} | ${r.ms === 0 ? '–' : r.ms.toFixed(r.ms < 10 ? 2 : 0)} | ${r.cpuMs === undefined ? '–' : r.cpuMs.toFixed(r.cpuMs < 10 ? 2 : 0)} | ${r.note ?? ''} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repos: { type: 'string', default: '300,1000,3000' },
      tags: { type: 'string', default: '1000,10000,100000' },
      'gc-images': { type: 'string', default: '300,1000,3000' },
      samples: { type: 'string', default: '30' },
      only: { type: 'string', default: 'repos,tags,gc' },
      json: { type: 'string' },
    },
  });
  const list = (s: string): number[] => s.split(',').filter(Boolean).map(Number);
  const samples = Number(values.samples);
  const only = new Set(values.only.split(','));
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const work = await mkdtemp(path.join(tmpdir(), 'bench-scaling-'));
  const rows: Row[] = [];
  try {
    if (only.has('repos'))
      for (const n of list(values.repos)) await measureRepoStore(work, n, samples, rows, log);
    if (only.has('tags'))
      for (const n of list(values.tags)) await measureTagStore(work, n, samples, rows, log);
    if (only.has('gc'))
      for (const n of list(values['gc-images'])) {
        log(`GC on ${n} images`);
        measureGc(n, rows);
      }
  } finally {
    agent.destroy();
    await rm(work, { recursive: true, force: true });
  }
  rows.sort(
    (a, b) => (a.dimension + a.operation).localeCompare(b.dimension + b.operation) || a.size - b.size,
  );
  process.stdout.write(`${table(rows)}\n`);
  if (values.json) await writeFile(values.json, JSON.stringify(rows, null, 2));
}

await main();
