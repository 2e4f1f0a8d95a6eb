/**
 * The two registries under test, each started on loopback with its own temporary storage folder
 * and stopped by its PID: Berth (this project's CLI) and CNCF Distribution (Debian's
 * `docker-registry`). Either may instead be a registry already running at a given URL.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Registry {
  /** `berth` or `distribution`: the label in the report. */
  name: string;
  url: string;
  /** The server's PID when known, for memory figures. */
  pid?: number;
  /** What it is, for the report: a version or "external". */
  description: string;
  /** Takes part in the push scenarios only (the push floor answers no reads). */
  pushesOnly?: boolean;
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

function distributionVersion(): string {
  try {
    return execFileSync('docker-registry', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'docker-registry (version unknown)';
  }
}

/**
 * Starts CNCF Distribution (`docker-registry serve`) with filesystem storage and deletes enabled.
 * `cache` keeps its in-memory blob-descriptor cache on, as the Debian package's default config does:
 * the stronger baseline.
 */
export async function startDistribution(
  workDir: string,
  cache: boolean,
  name = 'distribution',
): Promise<Registry> {
  const dir = await mkdtemp(path.join(workDir, 'bench-distribution-'));
  const root = path.join(dir, 'storage');
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    ...(cache ? ['  cache:', '    blobdescriptor: inmemory'] : []),
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
  const description = `${distributionVersion()}${cache ? ', blobdescriptor cache inmemory' : ', no cache'}`;
  return spawnRegistry(name, 'docker-registry', ['serve', configPath], dir, port, description);
}

const BERTH_CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/**
 * Starts Berth from the compiled CLI with a zot-format config. Logs at warn, like Distribution at
 * error, so that neither pays for an access log line per request; the port is chosen here because
 * the "listening" line is logged at info.
 */
export async function startBerthRegistry(workDir: string, nodeArgs: string[] = []): Promise<Registry> {
  const dir = await mkdtemp(path.join(workDir, 'bench-berth-'));
  const port = await freePort();
  const config = {
    storage: { rootDirectory: path.join(dir, 'storage') },
    http: { address: '127.0.0.1', port: String(port) },
    log: { level: 'warn' },
  };
  const configPath = path.join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const description = `node ${process.version}, ${path.relative(process.cwd(), BERTH_CLI)}`;
  return spawnRegistry(
    'berth',
    process.execPath,
    [...nodeArgs, BERTH_CLI, 'serve', configPath],
    dir,
    port,
    description,
  );
}

const FLOOR_SERVER = fileURLToPath(new URL('./floor-registry.js', import.meta.url));

/** Starts the push floor (floor-registry.ts): the least a durable push can cost on this machine. */
export async function startFloorRegistry(workDir: string): Promise<Registry> {
  const dir = await mkdtemp(path.join(workDir, 'bench-floor-'));
  const port = await freePort();
  const description = `node ${process.version}, ${path.relative(process.cwd(), FLOOR_SERVER)}: durable writes only`;
  const floor = await spawnRegistry(
    'floor',
    process.execPath,
    [FLOOR_SERVER, path.join(dir, 'storage'), String(port)],
    dir,
    port,
    description,
  );
  floor.pushesOnly = true;
  return floor;
}

/** Spawns a registry whose config and storage live in `dir`, waits for it, and stops it by PID. */
async function spawnRegistry(
  name: string,
  command: string,
  args: string[],
  dir: string,
  port: number,
  description: string,
): Promise<Registry> {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: string): void => {
    out = (out + c).slice(-20_000);
  };
  // A missing program (no `docker-registry` installed) is an 'error' event, not an exit.
  let spawnError: Error | undefined;
  proc.once('error', (err) => {
    spawnError = err;
    keep(`cannot start ${command}: ${err.message}`);
  });
  proc.stdout.setEncoding('utf8').on('data', keep);
  proc.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const alive = (): boolean => spawnError === undefined && proc.exitCode === null && proc.signalCode === null;
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForV2(url, alive, () => out);
  } catch (err) {
    if (alive()) proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`${command} started without a PID`);
  return {
    name,
    url,
    pid,
    description,
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
