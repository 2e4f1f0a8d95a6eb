/**
 * Berth on S3 (Ceph RGW) + PostgreSQL, one replica and three behind the round-robin proxy, beside
 * the filesystem default (one process, SQLite) and CNCF Distribution on the same Ceph (its s3
 * driver; skipped when `docker-registry` is missing), in one run with interleaved rounds (each round runs
 * every setup once, starting one setup further on than the last, so the machine's load drifts
 * over all of them alike). A benchmark, never a test.
 *
 *   node dist/bench/replicas.js [--size-mib 100] [--rounds 3] [--gets 200] [--manifests 10]
 *                               [--json FILE] [--baseline DIR]
 *
 * `--baseline DIR` adds one more setup, a replica of another build (DIR is a checkout with its
 * `dist/` built, e.g. a worktree of main): before/after figures of a change from the same run.
 *
 * Per setup and round: a push of a `--size-mib` layer as one request (POST, then a PUT with the
 * whole body), a push the way Docker sends it (POST, one PATCH with the whole body, a closing PUT),
 * `--manifests` pushes of manifests referencing both (each a new digest; median), a pull of the
 * layer (with the CPU seconds the server processes spent on it, from /proc: unlike MiB/s, hardly
 * moved by the machine's load), and `--gets` manifest GETs by tag one at a time on a keep-alive
 * connection (p50/p99). Layers are generated on the fly from a random 1 MiB
 * block per push (never held whole; digests computed in a first pass). Engines from
 * BERTH_TEST_S3_* / BERTH_TEST_POSTGRES_URL, or started here (test/support/services.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freshStore, removeStore, startCluster, type Cluster } from '../test/support/replicas.js';
import type { S3Service } from '../test/support/services.js';
import { startBerth, type RunningServer } from '../test/support/server.js';
import { postgresService, s3Service } from '../test/support/services.js';

const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    gets: { type: 'string', default: '200' },
    manifests: { type: 'string', default: '10' },
    json: { type: 'string' },
    baseline: { type: 'string' },
  },
});
const size = Number(values['size-mib']) * MiB;
const rounds = Number(values.rounds);
const gets = Number(values.gets);
const manifestPuts = Number(values.manifests);

interface Setup {
  name: string;
  url: string;
  /** The server processes, whose CPU time a pull costs (read from /proc). */
  pids: number[];
  stop(): Promise<void>;
}

interface Sample {
  setup: string;
  round: number;
  pushOneRequestMiBs: number;
  pushPatchPutMiBs: number;
  pullMiBs: number;
  /** CPU seconds the server processes spent during the pull (robust to the machine's load). */
  pullCpuSeconds: number | undefined;
  manifestPutMs: number;
  manifestGetP50Ms: number;
  manifestGetP99Ms: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function request(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer | ((req: http.ClientRequest) => Promise<void>),
): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      let bytes = 0;
      let text = '';
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (text.length < 2000) text += chunk.toString('utf8');
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (typeof body === 'function') {
      body(req).then(
        () => req.end(),
        (err: unknown) => req.destroy(err as Error),
      );
    } else {
      req.end(body);
    }
  });
}

/** A layer of `size` bytes: one random block repeated; its digest from a first pass. */
function layer(): { digest: string; write: (req: http.ClientRequest) => Promise<void> } {
  const block = randomBytes(MiB);
  const chunks = (function* () {
    for (let sent = 0; sent < size; sent += MiB) yield block.subarray(0, Math.min(MiB, size - sent));
  })();
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  const digest = `sha256:${hash.digest('hex')}`;
  return {
    digest,
    write: async (req) => {
      for (let sent = 0; sent < size; sent += MiB) {
        const chunk = block.subarray(0, Math.min(MiB, size - sent));
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
    },
  };
}

function location(base: string, res: { headers: http.IncomingHttpHeaders }): URL {
  return new URL(String(res.headers.location), base);
}

async function expect(what: string, res: { status: number; text: string }, status: number): Promise<void> {
  if (res.status !== status) throw new Error(`${what}: ${res.status}, expected ${status}: ${res.text}`);
}

async function pushOneRequest(base: string, repo: string): Promise<{ digest: string; seconds: number }> {
  const l = layer();
  const started = performance.now();
  const post = await request(`${base}/v2/${repo}/blobs/uploads/`, 'POST', {});
  await expect('POST', post, 202);
  const url = location(base, post);
  url.searchParams.set('digest', l.digest);
  const put = await request(
    url.toString(),
    'PUT',
    { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    l.write,
  );
  await expect('PUT', put, 201);
  return { digest: l.digest, seconds: (performance.now() - started) / 1000 };
}

async function pushPatchPut(base: string, repo: string): Promise<{ digest: string; seconds: number }> {
  const l = layer();
  const started = performance.now();
  const post = await request(`${base}/v2/${repo}/blobs/uploads/`, 'POST', {});
  await expect('POST', post, 202);
  const patch = await request(
    location(base, post).toString(),
    'PATCH',
    { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    l.write,
  );
  await expect('PATCH', patch, 202);
  const url = location(base, patch);
  url.searchParams.set('digest', l.digest);
  const put = await request(url.toString(), 'PUT', { 'content-length': '0' }, Buffer.alloc(0));
  await expect('PUT', put, 201);
  return { digest: l.digest, seconds: (performance.now() - started) / 1000 };
}

async function pushManifest(base: string, repo: string, layers: string[]): Promise<number> {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }),
  );
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  // POST, then PUT with the body: Distribution 2.8 has no single-POST upload.
  const post = await request(`${base}/v2/${repo}/blobs/uploads/`, 'POST', {});
  await expect('config POST', post, 202);
  const url = location(base, post);
  url.searchParams.set('digest', configDigest);
  const configPut = await request(
    url.toString(),
    'PUT',
    { 'content-type': 'application/octet-stream', 'content-length': String(config.length) },
    config,
  );
  await expect('config PUT', configPut, 201);
  // `--manifests` pushes, each a new digest (an annotation differs), the last one tagged `latest`.
  const times: number[] = [];
  for (let i = manifestPuts - 1; i >= 0; i--) {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: configDigest,
          size: config.length,
        },
        layers: layers.map((digest) => ({
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest,
          size,
        })),
        annotations: { 'org.example.bench.push': String(i) },
      }),
    );
    const started = performance.now();
    const put = await request(
      `${base}/v2/${repo}/manifests/${i === 0 ? 'latest' : `m${i}`}`,
      'PUT',
      { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      manifest,
    );
    await expect('manifest', put, 201);
    times.push(performance.now() - started);
  }
  return median(times);
}

async function pull(base: string, repo: string, digest: string): Promise<number> {
  const started = performance.now();
  const res = await request(`${base}/v2/${repo}/blobs/${digest}`, 'GET', {});
  await expect('pull', res, 200);
  if (res.bytes !== size) throw new Error(`pulled ${res.bytes} bytes`);
  return (performance.now() - started) / 1000;
}

async function manifestGets(base: string, repo: string): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
  for (let i = 0; i < gets; i++) {
    const started = performance.now();
    const res = await request(`${base}/v2/${repo}/manifests/latest`, 'GET', accept);
    await expect('manifest GET', res, 200);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)]!, p99: times[Math.floor(times.length * 0.99)]! };
}

const pidsOf = (servers: RunningServer[]): number[] =>
  servers.flatMap((r) => (r.proc.pid === undefined ? [] : [r.proc.pid]));

/** User + system CPU seconds of the processes so far (Linux /proc), undefined elsewhere. */
function cpuSeconds(pids: number[]): number | undefined {
  if (pids.length === 0) return undefined;
  try {
    let ticks = 0;
    for (const pid of pids) {
      // Fields after the command name: state is the 1st, utime the 12th, stime the 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks / 100; // USER_HZ
  } catch {
    return undefined;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** CNCF Distribution (`docker-registry serve`, Debian) with its s3 driver on a bucket of its own. */
async function startDistributionOnS3(s3: S3Service, postgresUrl: string): Promise<Setup | undefined> {
  const store = await freshStore(s3, postgresUrl);
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-distribution-s3-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  cache:',
    '    blobdescriptor: inmemory',
    '  s3:',
    `    region: ${s3.region}`,
    `    regionendpoint: ${s3.endpoint}`,
    `    bucket: ${store.bucket}`,
    `    accesskey: ${s3.accessKey}`,
    `    secretkey: ${s3.secretKey}`,
    '    secure: false',
    '    v4auth: true',
    '    rootdirectory: /distribution',
    '  delete:',
    '    enabled: true',
    // Berth serves the bytes itself unless redirectBlobURL is on: the same for Distribution.
    '  redirect:',
    '    disable: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'config.yml'), config);
  let proc;
  try {
    // Distribution's aws-sdk-go panics on AWS_CA_BUNDLE with its custom transport; plain http here.
    const env = { ...process.env };
    delete env.AWS_CA_BUNDLE;
    proc = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore', env });
  } catch {
    return undefined;
  }
  const child = proc;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || i > 200) {
      await removeStore(store);
      return undefined;
    }
    const ok = await fetch(`${url}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name: 'Distribution 2.8 on the same Ceph (s3 driver)',
    url,
    pids: child.pid === undefined ? [] : [child.pid],
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
      await removeStore(store);
    },
  };
}

async function main(): Promise<void> {
  const s3 = s3Service();
  const postgres = postgresService();
  if (s3.service === undefined || postgres.service === undefined) throw new Error(s3.skip ?? postgres.skip);
  const fs: RunningServer = await startBerth({ config: { storage: { gc: false } } });
  const one: Cluster = await startCluster(s3.service, postgres.service, {
    replicas: 1,
    config: { storage: { gc: false } },
  });
  const three: Cluster = await startCluster(s3.service, postgres.service, {
    replicas: 3,
    config: { storage: { gc: false } },
  });
  const setups: Setup[] = [
    { name: 'filesystem + SQLite, 1 process', url: fs.url, pids: pidsOf([fs]), stop: () => fs.stop() },
    {
      name: 'S3 + PostgreSQL, 1 replica',
      url: one.replicas[0]!.url,
      pids: pidsOf(one.replicas),
      stop: async () => undefined,
    },
    {
      name: 'S3 + PostgreSQL, 1 replica behind the proxy',
      url: one.url,
      pids: pidsOf(one.replicas),
      stop: () => one.stop(),
    },
    {
      name: 'S3 + PostgreSQL, 3 replicas (round-robin proxy)',
      url: three.url,
      pids: pidsOf(three.replicas),
      stop: () => three.stop(),
    },
  ];
  if (values.baseline !== undefined) {
    const cli = path.resolve(values.baseline, 'dist/src/cli/main.js');
    const baseline: Cluster = await startCluster(s3.service, postgres.service, {
      replicas: 1,
      config: { storage: { gc: false } },
      cli,
    });
    setups.push({
      name: `S3 + PostgreSQL, 1 replica, baseline build (${values.baseline})`,
      url: baseline.replicas[0]!.url,
      pids: pidsOf(baseline.replicas),
      stop: () => baseline.stop(),
    });
  }
  const distribution = await startDistributionOnS3(s3.service, postgres.service);
  if (distribution) setups.push(distribution);
  else process.stderr.write('docker-registry unavailable: Distribution on S3 left out\n');
  const samples: Sample[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      // Each round starts one setup further on: a setup's position in the round (right after the
      // filesystem's 200 MiB of writes, say) weighs on every setup alike.
      const order = setups.map((_, i) => setups[(i + round - 1) % setups.length]!);
      for (const setup of order) {
        const repo = `bench/r${round}`;
        const a = await pushOneRequest(setup.url, repo);
        const b = await pushPatchPut(setup.url, repo);
        const manifestPutMs = await pushManifest(setup.url, repo, [a.digest, b.digest]);
        const cpuBefore = cpuSeconds(setup.pids);
        const pullSeconds = await pull(setup.url, repo, a.digest);
        const cpuAfter = cpuSeconds(setup.pids);
        const m = await manifestGets(setup.url, repo);
        const sample: Sample = {
          setup: setup.name,
          round,
          pushOneRequestMiBs: size / MiB / a.seconds,
          pushPatchPutMiBs: size / MiB / b.seconds,
          pullMiBs: size / MiB / pullSeconds,
          pullCpuSeconds:
            cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
          manifestPutMs,
          manifestGetP50Ms: m.p50,
          manifestGetP99Ms: m.p99,
        };
        samples.push(sample);
        process.stderr.write(`${JSON.stringify(sample)}\n`);
      }
    }
  } finally {
    for (const setup of setups) await setup.stop().catch(() => undefined);
    agent.destroy();
  }
  const f = (n: number): string => n.toFixed(n >= 10 ? 0 : 1);
  const cpu = (own: Sample[]): string => {
    const known = own.flatMap((s) => (s.pullCpuSeconds === undefined ? [] : [s.pullCpuSeconds]));
    return known.length === 0 ? '-' : median(known).toFixed(2);
  };
  const lines = [
    `| setup | push, one request (MiB/s) | push, PATCH + PUT (MiB/s) | pull (MiB/s) | server CPU per pull (s) | manifest PUT (ms) | manifest GET p50 / p99 (ms) |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
  ];
  for (const setup of setups) {
    const own = samples.filter((s) => s.setup === setup.name);
    lines.push(
      `| ${setup.name} | ${f(median(own.map((s) => s.pushOneRequestMiBs)))} | ${f(median(own.map((s) => s.pushPatchPutMiBs)))} | ${f(median(own.map((s) => s.pullMiBs)))} | ${cpu(own)} | ${f(median(own.map((s) => s.manifestPutMs)))} | ${median(own.map((s) => s.manifestGetP50Ms)).toFixed(2)} / ${median(own.map((s) => s.manifestGetP99Ms)).toFixed(1)} |`,
    );
  }
  process.stdout.write(
    `${size / MiB} MiB layers, ${rounds} interleaved rounds, medians; ${gets} manifest GETs and ${manifestPuts} manifest PUTs (median) per round; server CPU from /proc\n\n${lines.join('\n')}\n`,
  );
  if (values.json) await writeFile(values.json, JSON.stringify(samples, null, 2));
}

await main();
