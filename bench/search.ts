/**
 * The search extension's latency benchmark: zot's GraphQL queries, as zot's web UI sends them,
 * against the UI benchmark's large store (10,000 repositories × 100 tags by default; see
 * bench/large-store.ts and bench/ui.ts for how it is built). Each query is timed sequentially as an
 * anonymous caller and as a signed-in admin (the UI's session cookie), server time per request.
 * A benchmark, never a test: `node dist/bench/search.js [--repos N] [--tags N] [--samples N]
 * [--keep] [--reuse DIR] [--out FILE]` (`--reuse` takes a folder an earlier `--keep` run of this
 * benchmark or of bench/ui.js left).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { startBerth, type RunningServer } from '../test/support/server.js';
import { parseStoreBenchArgs } from './store-bench-args.js';
import { QUERIES } from './search-queries.js';
import {
  ADMIN,
  basic,
  benchConfig,
  cloneTemplate,
  pushTemplate,
  repoName,
  sampleIndex,
  SAMPLE_REPOS,
  summarise,
  TEMPLATE,
  type Timing,
} from './large-store.js';

interface Options {
  repos: number;
  tags: number;
  samples: number;
  keep: boolean;
  reuse?: string;
  out?: string;
}

function parseArgs(argv: string[]): Options {
  const { flags: _flags, ...options } = parseStoreBenchArgs(argv, 'search');
  return options;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** User plus system CPU time a process has used, from /proc (Linux). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

type Caller = 'anonymous' | 'admin';
const CALLERS: readonly Caller[] = ['anonymous', 'admin'];

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const root = options.reuse ?? (await mkdtemp(path.join(tmpdir(), 'berth-bench-search-')));
  const secrets = await mkdtemp(path.join(tmpdir(), 'berth-bench-search-auth-'));
  const htpasswd = path.join(secrets, 'htpasswd');
  await writeFile(htpasswd, `${ADMIN.user}:${bcrypt.hashSync(ADMIN.password, 10)}\n`);
  const config = benchConfig(htpasswd, { search: { enable: true } });
  let server: RunningServer | undefined;
  const configs = new Set<string>();
  const start = async (where: { root: string }): Promise<RunningServer> => {
    const started = await startBerth({ ...where, config, cleanup: false });
    configs.add(started.configPath);
    return started;
  };
  try {
    let t = performance.now();
    if (options.reuse === undefined) {
      log(`populating ${options.repos.toLocaleString()} repositories × ${options.tags} tags in ${root}`);
      server = await start({ root });
      await pushTemplate(server, options.tags);
      log(`  template pushed through the API in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      await server.stop();
      server = undefined;
      t = performance.now();
      await cloneTemplate(root, options.repos);
      log(`  copied in SQL in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    t = performance.now();
    server = await start({ root });
    log(`berth started on the populated folder in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const base = server.url;

    // The admin signs in like the UI does; the session cookie then rides every request.
    const signIn = await fetch(`${base}/v2/`, {
      headers: { 'X-ZOT-API-CLIENT': 'zot-ui', Authorization: basic(ADMIN.user, ADMIN.password) },
    });
    await signIn.arrayBuffer();
    const cookie = signIn.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .find((c) => c.startsWith('session='));
    if (!cookie) throw new Error(`sign-in failed: ${signIn.status}`);

    const ask = async (query: string, caller: Caller): Promise<{ ms: number; body: string }> => {
      const started = performance.now();
      const res = await fetch(`${base}/v2/_zot/ext/search?query=${encodeURIComponent(query)}`, {
        headers: caller === 'admin' ? { 'X-ZOT-API-CLIENT': 'zot-ui', Cookie: cookie } : {},
      });
      const body = await res.text();
      const ms = performance.now() - started;
      if (res.status !== 200 || body.includes('"errors"'))
        throw new Error(`${query.slice(0, 80)} answered ${res.status}: ${body.slice(0, 300)}`);
      return { ms, body };
    };

    // The first query computes every repository summary (the one-off pass after a mass import).
    t = performance.now();
    const first = await ask(QUERIES.home('UPDATE_TIME'), 'admin');
    const total = (JSON.parse(first.body) as { data: { GlobalSearch: { Page: { TotalCount: number } } } })
      .data.GlobalSearch.Page.TotalCount;
    log(
      `first GlobalSearch: ${(performance.now() - t).toFixed(0)} ms; ${total.toLocaleString()} repositories`,
    );
    if (total < options.repos)
      throw new Error(`expected ${options.repos} repositories, GlobalSearch counts ${total}`);
    // Derive the per-digest facts of the template's images once (a sample repository holds the
    // blob files), as after real pushes.
    await ask(QUERIES.expanded(repoName(sampleIndex(0, options.repos))), 'admin');
    await ask(QUERIES.expanded(TEMPLATE), 'admin');

    const n = options.samples;
    const anyRepo = (i: number): string => repoName((i * 7919) % options.repos);
    const sample = (i: number): string => repoName(sampleIndex(i % SAMPLE_REPOS, options.repos));
    // The template's tag names (bench/large-store.ts pushTemplate).
    const tagName = (k: number): string => `1.${Math.floor(k / 10)}.${k % 10}`;
    const typing = ['a', 'ap', 'app', 'app-', 'app-0', 'app-01', 'app-012', 'app-0123'];
    const timings: Timing[] = [];
    const pid = server.proc.pid!;
    const cpuPerRequest = new Map<string, number>();
    /**
     * Times one query as both callers, alternating, after a few untimed requests of each; also the
     * server's CPU time per request, which a busy machine does not inflate the way it does latency.
     */
    const measure = async (label: string, request: string, query: (i: number) => string): Promise<void> => {
      const ms: Record<Caller, number[]> = { anonymous: [], admin: [] };
      for (let i = 0; i < 3; i++) for (const caller of CALLERS) await ask(query(n + i), caller);
      const cpuBefore = await cpuMs(pid);
      for (let i = 0; i < n; i++)
        for (const caller of CALLERS) ms[caller].push((await ask(query(i), caller)).ms);
      cpuPerRequest.set(label + request, ((await cpuMs(pid)) - cpuBefore) / (2 * n));
      for (const caller of CALLERS) timings.push(summarise(label, `${request} (${caller})`, ms[caller]));
    };
    await measure('GlobalSearch', 'home: 10 most downloaded', () => QUERIES.home('DOWNLOADS'));
    await measure('GlobalSearch', 'home: 10 recently updated', () => QUERIES.home('UPDATE_TIME'));
    await measure('GlobalSearch', 'typing "app-0123", by relevance', (i) =>
      QUERIES.suggestions(typing[i % typing.length]!),
    );
    await measure('GlobalSearch', 'tags "repo:1." of one repository', (i) => QUERIES.tags(anyRepo(i)));
    await measure('RepoListWithNewestImage', '15 recently updated', () => QUERIES.repoList());
    await measure('ExpandedRepoInfo', '100 tags (UI repository page)', (i) => QUERIES.expanded(anyRepo(i)));
    await measure('Image', 'UI image page', (i) => QUERIES.image(sample(i), tagName((i * 7) % options.tags)));

    const header = ['query', 'request', 'n', 'p50 ms', 'p95 ms', 'max ms', 'server CPU ms/request'];
    const lines = timings.map((r) => [
      r.page,
      r.request,
      String(r.samples),
      r.p50.toFixed(1),
      r.p95.toFixed(1),
      r.max.toFixed(1),
      (cpuPerRequest.get(r.page + r.request.replace(/ \((anonymous|admin)\)$/, '')) ?? NaN).toFixed(1),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    const fmt = (cells: string[]): string =>
      cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
    const report = [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
    process.stdout.write(
      `\nBerth GraphQL search, ${options.repos.toLocaleString()} repositories × ${options.tags} tags (server time per request, sequential; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${os.cpus().length} CPUs)\n${report}\n`,
    );
    if (options.out) {
      const fingerprint = createHash('sha256').update(report).digest('hex').slice(0, 8);
      await writeFile(
        options.out,
        JSON.stringify(
          { options, timings, cpuPerRequest: Object.fromEntries(cpuPerRequest), fingerprint },
          null,
          2,
        ),
      );
    }
  } finally {
    await server?.stop();
    await rm(secrets, { recursive: true, force: true });
    for (const file of configs) await rm(file, { force: true });
    if (!options.keep) await rm(root, { recursive: true, force: true });
    else log(`kept ${root}`);
  }
}

await main();
