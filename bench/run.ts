/**
 * The benchmark: starts Berth and CNCF Distribution side by side, pushes the same fixture to both,
 * then runs every scenario at every concurrency level against each in turn (interleaved, so that
 * drift in the machine touches both alike), prints Berth/Distribution ratios with the targets of
 * issue 2, and writes the figures as JSON. A benchmark, never a test: nothing here runs in the
 * suite. `node dist/bench/run.js --help` lists the options.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LargeBlobFamily } from './content.js';
import { HttpClient } from './http-client.js';
import { RawPool } from './raw-client.js';
import { describeMachine, measureLimits, type Limits } from './machine.js';
import { runConcurrent } from './measure.js';
import { ProcessWatch } from './memory.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import {
  checkTargets,
  floorLine,
  formatChecks,
  formatTable,
  ratio,
  type Measurement,
  type Row,
} from './report.js';
import { prepareFixture, SCENARIOS, type Fixture, type Scenario } from './scenarios.js';
import {
  externalRegistry,
  startBerthRegistry,
  startDistribution,
  startFloorRegistry,
  type Registry,
} from './servers.js';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function startRegistries(options: BenchOptions): Promise<Registry[]> {
  const started: Registry[] = [];
  try {
    if (options.berthUrl !== undefined) {
      started.push(await externalRegistry('berth', options.berthUrl, options.berthPid));
    } else if (options.berthIsDistribution) {
      started.push(await startDistribution(options.workDir, options.distributionCache, 'berth'));
    } else {
      started.push(await startBerthRegistry(options.workDir, options.berthNodeArgs));
    }
    if (options.distributionUrl !== undefined) {
      started.push(await externalRegistry('distribution', options.distributionUrl, options.distributionPid));
    } else {
      started.push(await startDistribution(options.workDir, options.distributionCache));
    }
    if (options.floor) started.push(await startFloorRegistry(options.workDir));
  } catch (err) {
    await Promise.allSettled(started.map((r) => r.stop()));
    throw err;
  }
  return started;
}

async function measureOne(
  scenario: Scenario,
  registry: Registry,
  fixture: Fixture,
  concurrency: number,
  options: BenchOptions,
  family: LargeBlobFamily,
  round: number,
): Promise<Measurement> {
  const http = new HttpClient(registry.url, concurrency);
  const raw = new RawPool(registry.url);
  try {
    const operation = scenario.operation({
      registry,
      client: http,
      raw,
      fixture,
      concurrency,
      round,
      options,
      family,
    });
    const ops = scenario.ops(options, concurrency);
    const warmup = scenario.warmup(options, concurrency);
    // Each round and its warm-up get their own indices, so pushes never reuse a tag or blob.
    const first = round * (ops + warmup);
    if (warmup > 0) await runConcurrent(warmup, concurrency, operation, first + ops);
    const loadAverage1 = os.loadavg()[0] ?? 0;
    const server = registry.pid === undefined ? undefined : new ProcessWatch(registry.pid);
    const client = process.cpuUsage();
    server?.start();
    const stats: Measurement = await runConcurrent(ops, concurrency, operation, first);
    const usage = server?.stop();
    const clientCpu = process.cpuUsage(client);
    stats.clientCpuMsPerOp = (clientCpu.user + clientCpu.system) / 1000 / Math.max(1, stats.ops);
    stats.loadAverage1 = loadAverage1;
    if (usage !== undefined) {
      stats.peakRssBytes = usage.peakRssBytes;
      stats.serverCpuMsPerOp = (usage.cpuSeconds * 1000) / Math.max(1, stats.ops);
      stats.serverSystemCpuShare = usage.systemShare;
    }
    return stats;
  } finally {
    http.close();
    raw.close();
  }
}

/**
 * The round with the median throughput stands for the level (its latencies with it, so that the
 * figures of a row come from one run); memory is the peak over all rounds.
 */
function medianRound(measured: Measurement[]): Measurement {
  const sorted = [...measured].sort((a, b) => a.opsPerSec - b.opsPerSec);
  const median = { ...(sorted[Math.floor((sorted.length - 1) / 2)] as Measurement) };
  const failed = measured.find((m) => m.errors > 0);
  if (failed !== undefined) {
    median.errors = Math.max(median.errors, failed.errors);
    median.firstError ??= failed.firstError;
  }
  const peaks = measured.flatMap((m) => (m.peakRssBytes === undefined ? [] : [m.peakRssBytes]));
  if (peaks.length > 0) median.peakRssBytes = Math.max(...peaks);
  return median;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), process.env);
  if (options === undefined) {
    console.log(USAGE);
    return 0;
  }
  const unknown = options.only.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`--only: unknown scenario ${unknown.join(', ')}`);
  const scenarios = SCENARIOS.filter((s) => options.only.length === 0 || options.only.includes(s.id));

  const machine = describeMachine();
  log(
    `machine: ${machine.nproc} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.kernel}, node ${machine.node}`,
  );
  let limits: Limits | undefined;
  if (options.probe) {
    limits = await measureLimits(options.workDir);
    log(
      `limits: sha256 ${limits.sha256GBps.toFixed(2)} GB/s/core, fsync'd write ${limits.fsyncWriteGBps.toFixed(2)} GB/s, ` +
        `loopback ${limits.loopbackGBps.toFixed(2)} GB/s`,
    );
  }

  const loadAtStart = os.loadavg();
  if ((loadAtStart[0] ?? 0) > machine.nproc / 2) {
    log(
      `warning: load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} on ${machine.nproc} CPUs: other work will skew the figures`,
    );
  }
  const family = new LargeBlobFamily(options.largeBytes);
  const registries = await startRegistries(options);
  const stopAll = (): Promise<PromiseSettledResult<void>[]> =>
    Promise.allSettled(registries.map((r) => r.stop()));
  const onSignal = (): void => {
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const rows: Row[] = [];
  const startedAt = new Date();
  try {
    for (const r of registries) log(`${r.name}: ${r.url} (pid ${r.pid ?? '?'}) ${r.description}`);
    const fixtures = new Map<string, Fixture>();
    for (const registry of registries) {
      if (registry.pushesOnly === true) continue;
      const t = Date.now();
      fixtures.set(registry.name, await prepareFixture(registry, options, family));
      log(
        `${registry.name}: fixture and ${options.catalogRepos} catalog repositories pushed in ${((Date.now() - t) / 1000).toFixed(1)} s`,
      );
    }

    for (const scenario of scenarios) {
      for (const concurrency of options.concurrency) {
        const row: Row = { scenario: scenario.id, title: scenario.title, concurrency, results: {} };
        const rounds: Record<string, Measurement[]> = {};
        for (let round = 0; round < options.rounds; round++) {
          for (const registry of registries) {
            if (registry.pushesOnly === true && !scenario.id.startsWith('push-')) continue;
            // The push scenarios read nothing of the fixture; the floor has none of its own.
            const fixture = (fixtures.get(registry.name) ?? fixtures.get('berth')) as Fixture;
            const m = await measureOne(scenario, registry, fixture, concurrency, options, family, round);
            (rounds[registry.name] ??= []).push(m);
            log(
              `${scenario.id.padEnd(14)} c=${String(concurrency).padEnd(3)} ${registry.name.padEnd(12)} ` +
                `${m.opsPerSec.toFixed(1).padStart(9)} ops/s ${m.mbPerSec.toFixed(1).padStart(8)} MB/s ` +
                `p50 ${m.p50Ms.toFixed(2)} ms p99 ${m.p99Ms.toFixed(2)} ms` +
                (m.peakRssBytes === undefined ? '' : ` rss ${(m.peakRssBytes / 1e6).toFixed(0)} MB`) +
                (m.serverCpuMsPerOp === undefined ? '' : ` cpu ${m.serverCpuMsPerOp.toFixed(3)} ms/op`) +
                (m.errors > 0 ? ` ERRORS ${m.errors}: ${m.firstError}` : ''),
            );
          }
        }
        for (const [name, measured] of Object.entries(rounds)) row.results[name] = medianRound(measured);
        if (options.rounds > 1) row.rounds = rounds;
        rows.push(row);
        const r = ratio(row);
        if (Number.isFinite(r)) log(`${' '.repeat(20)}berth/distribution ${r.toFixed(2)}x`);
        const floor = floorLine(row);
        if (floor !== undefined) log(`${' '.repeat(20)}${floor}`);
      }
    }
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const checks = checkTargets(rows);
  console.log(`\nBerth (B) vs CNCF Distribution (D), ${machine.nproc} x ${machine.cpuModel}`);
  const command = [
    'node',
    path.relative(process.cwd(), process.argv[1] ?? ''),
    ...process.argv.slice(2),
  ].join(' ');
  const loadAtEnd = os.loadavg();
  const loads = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`command: ${command}`);
  console.log(`load average: ${loads(loadAtStart)} at start, ${loads(loadAtEnd)} at end\n`);
  console.log(formatTable(rows, checks));
  console.log('\nTargets (issue 2):');
  console.log(formatChecks(checks));
  const floors = rows.flatMap((row) => {
    const line = floorLine(row);
    return line === undefined
      ? []
      : [`${row.scenario.padEnd(14)} c=${String(row.concurrency).padEnd(3)} ${line}`];
  });
  if (floors.length > 0) {
    console.log('\nThe push floor (bench/floor-registry.ts: layout and fsyncs only), medians:');
    for (const line of floors) console.log(line);
  }

  const result = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command,
    machine,
    loadAverage: { atStart: loadAtStart, atEnd: loadAtEnd },
    limits,
    options,
    registries: registries.map((r) => ({ name: r.name, url: r.url, description: r.description })),
    rows,
    checks,
  };
  await mkdir(options.outDir, { recursive: true });
  const file = path.join(options.outDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const body = `${JSON.stringify(result, null, 2)}\n`;
  await writeFile(file, body);
  await writeFile(path.join(options.outDir, 'latest.json'), body);
  console.log(`\nresults: ${file}`);
  // A MISS is a finding, not a failure; a run whose operations failed measured nothing sound.
  return rows.some((r) => Object.values(r.results).some((m) => m.errors > 0)) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 2;
  },
);
