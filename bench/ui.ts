/**
 * The web UI's page-load benchmark: how long Berth takes to serve each page's requests (the HTML
 * shell and the JSON the page fetches) with 10,000 repositories of 100 tags each, and, with
 * `--browser`, how long Chromium takes from navigation to the page's content on screen.
 * A benchmark, never a test: `node dist/bench/ui.js [--repos N] [--tags N] [--samples N]
 * [--browser] [--keep] [--reuse DIR] [--out FILE]` (`--reuse` starts from a folder an earlier
 * `--keep` run left, skipping the population; the UI's own tables are emptied first).
 *
 * How the registry is populated (pushing a million manifests through the API would take hours):
 * 1. Berth runs once on an empty folder and `--tags` real images (distinct manifests, configs and
 *    layers, one in ten a two-platform index) are pushed through the HTTP API into one template
 *    repository, so the metadata database, the OCI layout and the UI's facts are Berth's own.
 * 2. With Berth stopped, the template's rows (manifests, tags, blobs, references) are copied in
 *    SQL into `--repos` repositories, each with its own push times (spread over a year) and layer
 *    sizes, and each gets its own folder and index.json (so start-up reconciliation finds them
 *    up to date). The copies hold the template's manifest digests, so the UI's per-digest facts
 *    (platforms, sizes) are computed from real content once, as after real pushes. A sample of
 *    repositories also gets the template's blob files (hard links), for the image page, which
 *    reads manifest and config.
 * 3. Berth starts again on that folder. The first repository list computes every repository's
 *    summary (reported as the one-off cost after a mass import); then every page is timed.
 * Cold figures: the repository page right after the UI's per-digest facts were dropped (it then
 * reads 100 manifests and configs from disk).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import Database from 'better-sqlite3';
import { startBerth, type RunningServer } from '../test/support/server.js';
import { parseStoreBenchArgs } from './store-bench-args.js';
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
  browser: boolean;
  keep: boolean;
  reuse?: string;
  out?: string;
}

function parseArgs(argv: string[]): Options {
  const { flags, ...options } = parseStoreBenchArgs(argv, 'ui', ['browser']);
  return { ...options, browser: flags['browser'] ?? false };
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** The browser session's cookie, once signed in: requests are timed as the UI makes them. */
let sessionCookie = '';

/** Signs in like the UI's password form (`GET /v2/` with Basic credentials and the UI's header). */
async function signIn(base: string): Promise<void> {
  const res = await fetch(`${base}/v2/`, {
    headers: { 'X-ZOT-API-CLIENT': 'zot-ui', Authorization: basic(ADMIN.user, ADMIN.password) },
  });
  await res.arrayBuffer();
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const session = cookies.find((c) => c.startsWith('session='));
  if (res.status !== 200 || session === undefined)
    throw new Error(`sign-in failed: ${res.status}, cookies ${cookies.join(' ')}`);
  sessionCookie = session;
}

async function timeGet(url: string): Promise<{ ms: number; body: string; status: number }> {
  const started = performance.now();
  const res = await fetch(url, {
    headers: {
      'X-ZOT-API-CLIENT': 'zot-ui',
      'Accept-Encoding': 'gzip',
      ...(sessionCookie ? { Cookie: sessionCookie } : {}),
    },
  });
  const body = await res.text();
  return { ms: performance.now() - started, body, status: res.status };
}

async function measure(
  name: string,
  request: string,
  samples: number,
  url: (i: number) => string,
): Promise<Timing> {
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const r = await timeGet(url(i));
    if (r.status !== 200) throw new Error(`${url(i)} answered ${r.status}: ${r.body.slice(0, 300)}`);
    ms.push(r.ms);
  }
  return summarise(name, request, ms);
}

async function browserTimings(
  base: string,
  samples: number,
  repos: number,
  tagNames: string[],
): Promise<Timing[]> {
  const { launchBrowser } = await import('../test/support/browser.js');
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const [name, value] = sessionCookie.split('=') as [string, string];
    await context.addCookies([{ name, value, url: base }]);
    const page = await context.newPage();
    // One load to fill the browser's cache with the (immutable) assets, as for a returning user.
    await page.goto(`${base}/home`);
    await page.waitForSelector('#repo-results table');
    const timeTo = async (path: string, selector: string): Promise<number> => {
      const started = performance.now();
      await page.goto(`${base}${path}`);
      await page.waitForSelector(selector);
      return performance.now() - started;
    };
    const results: Timing[] = [];
    const run = async (label: string, path: (i: number) => string, selector: string): Promise<void> => {
      const ms: number[] = [];
      for (let i = 0; i < samples; i++) ms.push(await timeTo(path(i), selector));
      results.push(
        summarise(
          label,
          label === 'baseline'
            ? 'browser: navigation to a JSON answer'
            : 'browser: navigation → content shown',
          ms,
        ),
      );
    };
    await run('repositories', (i) => (i % 2 ? '/home?sort=updated-desc' : '/home'), '#repo-results table');
    await run(
      'repository',
      (i) => `/image/${encodeURIComponent(repoName(sampleIndex(i % SAMPLE_REPOS, repos)))}`,
      '#tag-results table',
    );
    await run(
      'image',
      (i) =>
        `/image/${encodeURIComponent(repoName(sampleIndex(i % SAMPLE_REPOS, repos)))}/tag/${encodeURIComponent(tagNames[i % tagNames.length]!)}`,
      '#manifest',
    );
    await run('sign-in', () => '/login', 'main h1');
    await run('baseline', () => `/_berth/ui/api/session`, 'body');
    return results;
  } finally {
    await browser.close();
  }
}

function formatTable(rows: Timing[]): string {
  const header = ['page', 'request', 'n', 'p50 ms', 'p95 ms', 'max ms'];
  const lines = rows.map((r) => [
    r.page,
    r.request,
    String(r.samples),
    r.p50.toFixed(1),
    r.p95.toFixed(1),
    r.max.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const root = options.reuse ?? (await mkdtemp(path.join(tmpdir(), 'berth-bench-ui-')));
  const secrets = await mkdtemp(path.join(tmpdir(), 'berth-bench-ui-auth-'));
  const htpasswd = path.join(secrets, 'htpasswd');
  await writeFile(htpasswd, `${ADMIN.user}:${bcrypt.hashSync(ADMIN.password, 10)}\n`);
  let server: RunningServer | undefined;
  // startBerth writes each config next to the root and, keeping the root, leaves it: removed below.
  const configs = new Set<string>();
  const start = async (where: { root: string; port?: number }): Promise<RunningServer> => {
    const started = await startBerth({ ...where, config: benchConfig(htpasswd), cleanup: false });
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
    } else {
      log(`reusing ${root}; the UI's tables emptied, as before a first start`);
      const db = new Database(path.join(root, '_berth', 'meta.db'));
      db.exec('DELETE FROM ui_repo_summary; DELETE FROM ui_manifest_info;');
      db.close();
    }

    t = performance.now();
    server = await start({ root });
    const port = server.port;
    log(`berth started on the populated folder in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const base = server.url;
    const api = `${base}/_berth/ui/api`;
    await signIn(base);
    const first = await timeGet(`${api}/repositories`);
    const total = (JSON.parse(first.body) as { total: number }).total;
    const computed = /"ms":(\d+),"msg":"ui: repository summaries computed"/.exec(server.output())?.[1];
    log(
      `first repository list: ${first.ms.toFixed(0)} ms after start-up` +
        (computed === undefined
          ? ''
          : `; the one-off pass over ${total.toLocaleString()} repositories took ${computed} ms`),
    );
    if (total < options.repos)
      throw new Error(`expected at least ${options.repos} repositories, the list has ${total}`);

    const template = (
      JSON.parse(
        (await timeGet(`${api}/repository?name=${encodeURIComponent(TEMPLATE)}&perPage=100`)).body,
      ) as { tags: { items: { tag: string }[] } }
    ).tags.items
      .map((i) => i.tag)
      .filter((tag) => !tag.startsWith('pushed-'));
    // Warm the connection and the facts of the template's digests once, as after real pushes.
    await timeGet(`${api}/repository?name=${encodeURIComponent(repoName(0))}&perPage=100`);

    const n = options.samples;
    const sample = (i: number): string =>
      encodeURIComponent(repoName(sampleIndex(i % SAMPLE_REPOS, options.repos)));
    const anyRepo = (i: number): string => encodeURIComponent(repoName((i * 7919) % options.repos));
    const lastPage = Math.ceil(total / 50);
    const timings: Timing[] = [];
    timings.push(await measure('any page', 'GET /home (HTML shell)', n, () => `${base}/home`));
    timings.push(await measure('any page', 'GET session', n, () => `${api}/session`));
    timings.push(await measure('repositories', 'by name, page 1', n, () => `${api}/repositories`));
    timings.push(
      await measure('repositories', 'recently updated', n, () => `${api}/repositories?sort=updated&dir=desc`),
    );
    timings.push(
      await measure('repositories', 'largest first', n, () => `${api}/repositories?sort=size&dir=desc`),
    );
    timings.push(
      await measure(
        'repositories',
        `last page (${lastPage})`,
        n,
        () => `${api}/repositories?page=${lastPage}`,
      ),
    );
    timings.push(
      await measure(
        'repositories',
        'filter "app-0123" (typing)',
        n,
        (i) =>
          `${api}/repositories?q=${['a', 'ap', 'app', 'app-', 'app-0', 'app-01', 'app-012', 'app-0123'][i % 8]}`,
      ),
    );
    // Each sample first tags an image anew (as a CI push would): the list's caches start over.
    const manifest = await fetch(`${base}/v2/${TEMPLATE}/manifests/${encodeURIComponent(template[0]!)}`, {
      headers: {
        Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json',
      },
    });
    const manifestType = manifest.headers.get('content-type') ?? '';
    const manifestBytes = Buffer.from(await manifest.arrayBuffer());
    const afterPush: number[] = [];
    for (let i = 0; i < n; i++) {
      const put = await fetch(`${base}/v2/${TEMPLATE}/manifests/pushed-${i}`, {
        method: 'PUT',
        headers: { 'Content-Type': manifestType, Authorization: basic(ADMIN.user, ADMIN.password) },
        body: manifestBytes,
      });
      if (put.status !== 201) throw new Error(`tag push answered ${put.status}`);
      const r = await timeGet(`${api}/repositories?sort=updated&dir=desc`);
      const newest = (JSON.parse(r.body) as { items: { name: string; newestTag: string }[] }).items[0];
      if (newest?.name !== TEMPLATE || newest.newestTag !== `pushed-${i}`) {
        throw new Error(`the list does not show the push first: ${JSON.stringify(newest)}`);
      }
      afterPush.push(r.ms);
    }
    timings.push(summarise('repositories', 'recently updated, right after a push', afterPush));
    timings.push(
      await measure('repository', '100 tags, page of 50', n, (i) => `${api}/repository?name=${anyRepo(i)}`),
    );
    timings.push(
      await measure(
        'repository',
        '100 tags, sorted by name',
        n,
        (i) => `${api}/repository?name=${anyRepo(i)}&sort=name&perPage=100`,
      ),
    );
    timings.push(
      await measure(
        'image',
        'image or index by tag',
        n,
        (i) =>
          `${api}/image?name=${sample(i)}&reference=${encodeURIComponent(template[i % template.length]!)}`,
      ),
    );

    // Cold: the UI's per-digest facts dropped, so the repository page reads every manifest and config.
    await server.stop();
    server = undefined;
    const db = new Database(path.join(root, '_berth', 'meta.db'));
    db.exec('DELETE FROM ui_manifest_info');
    db.close();
    server = await start({ root, port });
    await signIn(server.url);
    await timeGet(`${server.url}/_berth/ui/api/repositories`);
    const cold = await timeGet(`${server.url}/_berth/ui/api/repository?name=${sample(0)}&perPage=100`);
    timings.push(summarise('repository', 'cold: 100 tags, facts read from disk', [cold.ms]));
    if (options.browser)
      timings.push(...(await browserTimings(server.url, Math.min(n, 20), options.repos, template)));

    const report = formatTable(timings);
    process.stdout.write(
      `\nBerth web UI, ${options.repos.toLocaleString()} repositories × ${options.tags} tags (server time per request, sequential)\n${report}\n`,
    );
    const worst = Math.max(
      ...timings
        .filter((t) => !t.request.startsWith('cold') && !t.request.startsWith('browser'))
        .map((t) => t.p95),
    );
    process.stdout.write(
      `\nworst p95 of the warm page requests: ${worst.toFixed(1)} ms (target: under 100 ms)\n`,
    );
    if (options.out) {
      const fingerprint = createHash('sha256').update(report).digest('hex').slice(0, 8);
      await writeFile(
        options.out,
        JSON.stringify({ options, firstListMs: first.ms, timings, fingerprint }, null, 2),
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
