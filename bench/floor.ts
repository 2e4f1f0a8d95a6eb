/**
 * The per-request floor: Berth's server CPU per request for the smallest reads (a `GET /v2/` ping,
 * one `_catalog` page, a manifest GET by tag, a blob HEAD), beside a bare `node:http` server that
 * answers a fixed body of the same size with the same headers: what Node's HTTP stack alone costs
 * on this machine, the floor no handler can go under. Berth alone (no Distribution): it tells where
 * a change moved Berth's own cost, and CPU per request moves far less with the machine's load than
 * throughput does. The ratios against Distribution come from `run.ts`.
 *
 *   node dist/bench/floor.js [--requests 20000] [--concurrency 8] [--rounds 3]
 *     [--only ping,catalog,manifest,blob] [--no-bare]
 *     [--berth-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { smallImage } from './content.js';
import { HttpClient } from './http-client.js';
import { runConcurrent } from './measure.js';
import { ProcessWatch } from './memory.js';
import { encodeRequest, RawPool } from './raw-client.js';
import { pushSmallImage } from './registry-ops.js';
import { startBerthRegistry } from './servers.js';

interface Probe {
  name: string;
  path: string;
  method: 'GET' | 'HEAD';
  headers?: Record<string, string>;
}

interface Figure {
  probe: string;
  server: string;
  opsPerSec: number;
  cpuUsPerOp: number;
  p50Ms: number;
}

/** A node:http server answering every request with `bytes` of body and Berth's usual headers. */
const BARE_SERVER = `
const http = require('node:http');
const body = 'x'.repeat(Number(process.argv[1]));
http.createServer((req, res) => {
  res.writeHead(200, {
    'X-Request-Id': 'abcdef-1',
    'Docker-Distribution-API-Version': 'registry/2.0',
    'Content-Type': 'application/json',
    'Content-Length': body.length,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;

async function startBare(bodyBytes: number): Promise<{ url: string; pid: number; stop: () => void }> {
  const proc = spawn(process.execPath, ['-e', BARE_SERVER, String(bodyBytes)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(proc.stdout, 'data')) as [Buffer];
  return {
    url: `http://127.0.0.1:${line.toString().trim()}`,
    pid: proc.pid!,
    stop: () => proc.kill('SIGTERM'),
  };
}

async function measure(
  url: string,
  pid: number,
  probe: Probe,
  requests: number,
  concurrency: number,
): Promise<{ opsPerSec: number; cpuUsPerOp: number; p50Ms: number }> {
  const pool = new RawPool(url);
  const request = encodeRequest(probe.method, pool.host, probe.path, probe.headers);
  const op = async (_i: number, worker: number): Promise<number> => {
    const reply = await pool.connection(worker).request(request, probe.method === 'HEAD');
    if (reply.status !== 200) throw new Error(`${probe.name}: ${reply.status}`);
    return reply.bytes;
  };
  await runConcurrent(Math.min(requests, 500), concurrency, op);
  const watch = new ProcessWatch(pid);
  watch.start();
  const stats = await runConcurrent(requests, concurrency, op);
  const usage = watch.stop();
  pool.close();
  if (stats.errors > 0) throw new Error(stats.firstError);
  return { opsPerSec: stats.opsPerSec, cpuUsPerOp: (usage.cpuSeconds / stats.ops) * 1e6, p50Ms: stats.p50Ms };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '20000' },
      concurrency: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '3' },
      repos: { type: 'string', default: '300' },
      'berth-node-args': { type: 'string', default: '' },
      only: { type: 'string', default: '' },
      'no-bare': { type: 'boolean', default: false },
    },
  });
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  const nodeArgs = values['berth-node-args'].split(' ').filter((a) => a !== '');
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const berth = await startBerthRegistry(tmpdir(), nodeArgs);
  const client = new HttpClient(berth.url, 16);
  const image = smallImage(1024, 'floor');
  await pushSmallImage(client, 'bench/fixture', 'small', image);
  const width = String(Number(values.repos) - 1).length;
  await runConcurrent(Number(values.repos), 16, async (i) => {
    await pushSmallImage(client, `bench/catalog/r${String(i).padStart(width, '0')}`, 'v1', image);
    return 0;
  });
  client.close();
  const pageBytes = (await (await fetch(`${berth.url}/v2/_catalog?n=100`)).arrayBuffer()).byteLength;
  const bare = await startBare(image.manifest.length);
  const barePage = await startBare(pageBytes);

  const probes: { probe: Probe; bare: typeof bare }[] = [
    { probe: { name: 'ping GET /v2/', path: '/v2/', method: 'GET' }, bare },
    { probe: { name: 'catalog page n=100', path: '/v2/_catalog?n=100', method: 'GET' }, bare: barePage },
    {
      probe: {
        name: 'manifest GET by tag',
        path: '/v2/bench/fixture/manifests/small',
        method: 'GET',
        headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
      },
      bare,
    },
    {
      probe: { name: 'blob HEAD', path: `/v2/bench/fixture/blobs/${image.layer.digest}`, method: 'HEAD' },
      bare,
    },
  ];
  const only = values.only.split(',').filter((o) => o !== '');
  const figures: Figure[] = [];
  try {
    for (const { probe, bare: reference } of probes) {
      if (only.length > 0 && !only.some((o) => probe.name.startsWith(o))) continue;
      const samples: Record<string, { opsPerSec: number; cpuUsPerOp: number; p50Ms: number }[]> = {
        berth: [],
        'bare node:http': [],
      };
      for (let r = 0; r < rounds; r++) {
        samples.berth!.push(await measure(berth.url, berth.pid!, probe, requests, concurrency));
        if (!values['no-bare'])
          samples['bare node:http']!.push(
            await measure(reference.url, reference.pid, probe, requests, concurrency),
          );
      }
      for (const [server, list] of Object.entries(samples)) {
        if (list.length === 0) continue;
        figures.push({
          probe: probe.name,
          server,
          opsPerSec: median(list.map((s) => s.opsPerSec)),
          cpuUsPerOp: median(list.map((s) => s.cpuUsPerOp)),
          p50Ms: median(list.map((s) => s.p50Ms)),
        });
      }
    }
  } finally {
    bare.stop();
    barePage.stop();
    await berth.stop();
  }
  console.log(`\n${requests} requests x ${rounds} rounds at concurrency ${concurrency}, medians`);
  console.log('probe                 server            ops/s   server CPU µs/op   p50 ms');
  for (const f of figures) {
    console.log(
      `${f.probe.padEnd(21)} ${f.server.padEnd(15)} ${f.opsPerSec.toFixed(0).padStart(7)}   ${f.cpuUsPerOp
        .toFixed(1)
        .padStart(16)}   ${f.p50Ms.toFixed(3).padStart(6)}`,
    );
  }
  console.log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
