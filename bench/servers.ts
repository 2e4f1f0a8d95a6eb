/**
 * The two registries under test, each started on loopback with its own temporary storage folder
 * and stopped by its PID: Berth (this project's CLI) and CNCF Distribution (Debian's
 * `docker-registry`). Either may instead be a registry already running at a given URL.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { startBerth } from '../test/support/server.js';

export interface Registry {
  /** `berth` or `distribution`: the label in the report. */
  name: string;
  url: string;
  /** The server's PID when known, for memory figures. */
  pid?: number;
  /** What it is, for the report: a version or "external". */
  description: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForV2(url: string, isAlive: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`registry at ${url} exited before serving:\n${output()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`registry at ${url} did not answer /v2/ in 20 s:\n${output()}`);
}

/** Starts Berth from the compiled CLI with a zot-format config and warn-level logs. */
export async function startBerthRegistry(workDir: string): Promise<Registry> {
  const root = await mkdtemp(path.join(workDir, 'berth-'));
  const server = await startBerth({ root, cleanup: true, config: { log: { level: 'warn' } } });
  const pid = server.proc.pid;
  if (pid === undefined) throw new Error('berth started without a PID');
  return {
    name: 'berth',
    url: server.url,
    pid,
    description: `node ${process.version}, dist/src/cli/main.js`,
    stop: () => server.stop(),
  };
}

function distributionVersion(): string {
  try {
    return execFileSync('docker-registry', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'docker-registry (version unknown)';
  }
}

/** Starts CNCF Distribution (`docker-registry serve`) with filesystem storage and deletes enabled. */
export async function startDistribution(workDir: string, name = 'distribution'): Promise<Registry> {
  const dir = await mkdtemp(path.join(workDir, 'distribution-'));
  const root = path.join(dir, 'storage');
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${root}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
  const configPath = path.join(dir, 'config.yml');
  await writeFile(configPath, config);

  const proc = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (out = (out + c).slice(-20_000)));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (out = (out + c).slice(-20_000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForV2(url, alive, () => out);
  } catch (err) {
    if (alive()) proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const pid = proc.pid;
  if (pid === undefined) throw new Error('docker-registry started without a PID');
  return {
    name,
    url,
    pid,
    description: distributionVersion(),
    stop: async () => {
      if (alive()) process.kill(pid, 'SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A registry someone else runs: the benchmark neither starts nor stops it. */
export async function externalRegistry(
  name: string,
  url: string,
  pid: number | undefined,
): Promise<Registry> {
  await waitForV2(
    url.replace(/\/$/, ''),
    () => true,
    () => '',
  );
  const registry: Registry = {
    name,
    url: url.replace(/\/$/, ''),
    description: `external at ${url}`,
    stop: async () => undefined,
  };
  if (pid !== undefined) registry.pid = pid;
  return registry;
}
