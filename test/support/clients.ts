/**
 * Runs the real registry clients and their daemons inside tests: skopeo, containerd's `ctr`,
 * dockerd with the Docker CLI, and CNCF Distribution as a reference registry
 * (`../shared/real-clients.md` says how each runs without systemd).
 *
 * Every daemon started here gets its own temporary folder, is stopped by its PID and has its
 * folder removed; a process exit kills whatever a test forgot to stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBerth } from './server.js';

/** The Debian package that provides each command, for a clear error when one is missing. */
const PACKAGE_OF: Record<string, string> = {
  skopeo: 'skopeo',
  ctr: 'containerd',
  containerd: 'containerd',
  dockerd: 'docker.io',
  docker: 'docker.io',
  'docker-registry': 'docker-registry',
  htpasswd: 'apache2-utils',
  umoci: 'umoci',
  chromium: 'chromium',
  buildah: 'buildah',
  openssl: 'openssl',
  curl: 'curl',
  'systemd-analyze': 'systemd',
};

function findOnPath(name: string): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of a command; throws (failing the test, never skipping it) when missing.
 * `scripts/test.sh` installs every client the suite needs.
 */
export function requireCommand(name: string): string {
  const found = findOnPath(name);
  if (found !== undefined) return found;
  const pkg = PACKAGE_OF[path.basename(name)];
  throw new Error(
    `required command "${name}" is not installed` +
      (pkg === undefined ? '' : ` (Debian package "${pkg}"; scripts/test.sh installs it)`),
  );
}

/** Whether the machine runs the tests as root: containerd and dockerd need it. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('the containerd and Docker tests must run as root');
}

export interface RunOptions {
  /** Default 120 s; the process is killed with SIGKILL when it runs longer. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The command line, for messages. */
  command: string;
}

/** Runs a command to its end and collects its output; never throws for a non-zero exit. */
export async function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const command = [cmd, ...args].join(' ');
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => stdout.push(c));
  child.stderr?.on('data', (c: Buffer) => stderr.push(c));
  if (options.input !== undefined) child.stdin?.end(options.input);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 120_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${err.message}`));
    });
    child.once('close', (c, s) => {
      clearTimeout(timer);
      resolve([c, s]);
    });
  });
  return {
    code,
    signal,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
    timedOut,
    command,
  };
}

/** The end of a long output: clients like `ctr` redraw progress bars many times a second. */
function tail(text: string, max: number): string {
  return text.length <= max ? text : `[… ${text.length - max} characters before]\n${text.slice(-max)}`;
}

/** A failed command, with the end of what it printed. */
export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    const status = result.timedOut
      ? 'timed out'
      : result.signal !== null
        ? `died of ${result.signal}`
        : `exited with ${result.code}`;
    super(
      `${result.command} ${status}\n--- stderr:\n${tail(result.stderr, 8000)}\n--- stdout:\n${tail(result.stdout, 4000)}`,
    );
    this.name = 'CommandError';
  }
}

/** Like {@link run}, but throws a {@link CommandError} (with stderr) unless the exit code is 0. */
export async function runOk(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(cmd, args, options);
  if (result.code !== 0) throw new CommandError(result);
  return result;
}

// --- background daemons ----------------------------------------------------------------------

/** PIDs and folders of daemons still running, killed and removed when the test process exits. */
const live = new Map<number, string>();
process.once('exit', () => {
  for (const [pid, dir] of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Daemon {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

function spawnDaemon(cmd: string, args: string[], dir: string): Daemon {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  // Keep the tail only: daemons at debug level can be chatty over a long test file.
  const append = (c: Buffer): void => {
    out = (out + c.toString('utf8')).slice(-200_000);
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  if (proc.pid !== undefined) live.set(proc.pid, dir);
  return { proc, output: () => out, exited };
}

function isRunning(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

/** SIGTERM, then SIGKILL after `graceMs`; waits for the exit, then removes `dir`. */
async function stopDaemon(daemon: Daemon, dir: string, graceMs = 30_000): Promise<void> {
  const { proc } = daemon;
  if (isRunning(proc)) {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await daemon.exited;
    clearTimeout(timer);
  }
  if (proc.pid !== undefined) live.delete(proc.pid);
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
}

/** Polls `probe` until it returns true; throws with the daemon's output after `timeoutMs`. */
async function waitUntil(
  what: string,
  daemon: Daemon,
  probe: () => Promise<boolean>,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning(daemon.proc)) {
      throw new Error(
        `${what} exited with ${daemon.proc.exitCode ?? daemon.proc.signalCode} before it was ready:\n${daemon.output()}`,
      );
    }
    if (await probe()) return;
    if (Date.now() > deadline)
      throw new Error(`${what} was not ready after ${timeoutMs / 1000} s:\n${daemon.output()}`);
    await sleep(250);
  }
}

// --- containerd ------------------------------------------------------------------------------

export interface Containerd {
  /** The gRPC socket, for `ctr --address` and `dockerd --containerd`. */
  socket: string;
  /** The containerd root folder (content store, snapshots). */
  root: string;
  /** Runs `ctr --address SOCKET --namespace NAMESPACE ARGS`, throwing with stderr on failure. */
  ctr(namespace: string, args: string[], options?: RunOptions): Promise<RunResult>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a private containerd (own root, state and socket in a temporary folder, no CRI, native
 * snapshotter usable) and waits until `ctr version` answers.
 */
export async function startContainerd(): Promise<Containerd> {
  requireRoot();
  const containerd = requireCommand('containerd');
  const ctr = requireCommand('ctr');
  // Short paths: a unix socket path must fit in 108 bytes.
  const dir = await mkdtemp(path.join(tmpdir(), 'ctrd-'));
  const socket = path.join(dir, 'c.sock');
  const root = path.join(dir, 'root');
  const configPath = path.join(dir, 'config.toml');
  await writeFile(
    configPath,
    [
      'version = 2',
      `root = "${path.join(dir, 'root')}"`,
      `state = "${path.join(dir, 'state')}"`,
      'disabled_plugins = [',
      '  "io.containerd.grpc.v1.cri",',
      '  "io.containerd.snapshotter.v1.aufs",',
      '  "io.containerd.snapshotter.v1.btrfs",',
      '  "io.containerd.snapshotter.v1.devmapper",',
      '  "io.containerd.snapshotter.v1.zfs",',
      ']',
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  );
  const daemon = spawnDaemon(containerd, ['--config', configPath], dir);
  const ctrRun = (namespace: string, args: string[], options?: RunOptions): Promise<RunResult> =>
    runOk(ctr, ['--address', socket, '--namespace', namespace, ...args], options);
  try {
    await waitUntil(
      'containerd',
      daemon,
      async () => (await run(ctr, ['--address', socket, 'version'], { timeoutMs: 20_000 })).code === 0,
    );
  } catch (err) {
    await stopDaemon(daemon, dir);
    throw err;
  }
  return { socket, root, ctr: ctrRun, output: daemon.output, stop: () => stopDaemon(daemon, dir) };
}

// --- dockerd ---------------------------------------------------------------------------------

/**
 * The Docker CLI that matches Debian's dockerd 20.10: `/usr/bin/docker` from `docker.io`.
 * A newer client may sit earlier on PATH (`/usr/local/bin/docker`); the Debian one is preferred
 * so the pair is the one Debian ships and tests.
 */
export function dockerCli(): string {
  return isExecutable('/usr/bin/docker') ? '/usr/bin/docker' : requireCommand('docker');
}

export interface Dockerd {
  /** `unix://…/d.sock` */
  host: string;
  /** The CLI's config folder (`DOCKER_CONFIG`), private to this daemon: logins land here. */
  configDir: string;
  /** Runs `docker -H HOST ARGS` with the private `DOCKER_CONFIG`, throwing with stderr on failure. */
  docker(args: string[], options?: RunOptions): Promise<RunResult>;
  /** The same, without throwing on failure. */
  dockerRaw(args: string[], options?: RunOptions): Promise<RunResult>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a private dockerd (own data, exec root, socket, daemon.json and containerd namespaces;
 * no iptables, no bridge, vfs storage) on a containerd from {@link startContainerd}, and waits
 * until `docker version` answers. Registries on 127.0.0.0/8 are insecure (plain HTTP) by default.
 */
export async function startDockerd(containerd: Containerd): Promise<Dockerd> {
  requireRoot();
  const dockerd = requireCommand('dockerd');
  const cli = dockerCli();
  const dir = await mkdtemp(path.join(tmpdir(), 'dockerd-'));
  const host = `unix://${path.join(dir, 'd.sock')}`;
  const configDir = path.join(dir, 'cli');
  const daemonJson = path.join(dir, 'daemon.json');
  // An explicit daemon.json, so /etc/docker/daemon.json on the machine cannot change the test.
  await writeFile(daemonJson, '{}\n');
  const ns = path.basename(dir).replace(/[^a-zA-Z0-9]/g, '');
  const daemon = spawnDaemon(
    dockerd,
    [
      '--config-file',
      daemonJson,
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'exec'),
      '--pidfile',
      path.join(dir, 'docker.pid'),
      '-H',
      host,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--storage-driver=vfs',
      '--containerd',
      containerd.socket,
      '--containerd-namespace',
      `${ns}`,
      '--containerd-plugins-namespace',
      `${ns}-plugins`,
    ],
    dir,
  );
  const env = { DOCKER_CONFIG: configDir };
  const dockerRaw = (args: string[], options: RunOptions = {}): Promise<RunResult> =>
    run(cli, ['-H', host, ...args], { ...options, env: { ...env, ...options.env } });
  const docker = (args: string[], options: RunOptions = {}): Promise<RunResult> =>
    runOk(cli, ['-H', host, ...args], { ...options, env: { ...env, ...options.env } });
  try {
    await waitUntil(
      'dockerd',
      daemon,
      async () => (await dockerRaw(['version'], { timeoutMs: 20_000 })).code === 0,
    );
  } catch (err) {
    await stopDaemon(daemon, dir);
    throw err;
  }
  return { host, configDir, docker, dockerRaw, output: daemon.output, stop: () => stopDaemon(daemon, dir) };
}

// --- registries under test -------------------------------------------------------------------

/** A running registry, whichever implementation. */
export interface Registry {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, the prefix of image references. */
  host: string;
  output(): string;
  stop(): Promise<void>;
  /** The server's process id, when it runs as a process of its own (benchmarks watch its CPU). */
  pid?: number | undefined;
}

export interface DistributionOptions {
  /** An htpasswd file (bcrypt entries) to require basic auth. */
  htpasswd?: string;
}

/**
 * Starts CNCF Distribution (`docker-registry`, the reference registry) on a random loopback port
 * with filesystem storage and deletes enabled.
 */
export async function startDistribution(options: DistributionOptions = {}): Promise<Registry> {
  const bin = requireCommand('docker-registry');
  const dir = await mkdtemp(path.join(tmpdir(), 'distribution-'));
  const configPath = path.join(dir, 'config.yml');
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    '  addr: 127.0.0.1:0',
    // A fixed secret silences a warning; uploads never cross instances here.
    '  secret: berth-test-secret',
  ];
  if (options.htpasswd !== undefined) {
    lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${options.htpasswd}`);
  }
  await writeFile(configPath, lines.join('\n') + '\n');
  const daemon = spawnDaemon(bin, ['serve', configPath], dir);
  let port: number | undefined;
  try {
    await waitUntil('docker-registry', daemon, async () => {
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(daemon.output());
      if (match?.[1] !== undefined) port = Number(match[1]);
      return port !== undefined;
    });
  } catch (err) {
    await stopDaemon(daemon, dir);
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    output: daemon.output,
    stop: () => stopDaemon(daemon, dir),
    pid: daemon.proc.pid,
  };
}

/**
 * Starts the registry the e2e tests run against: Berth, or CNCF Distribution when
 * `BERTH_E2E_REGISTRY=distribution` (to check that a failing test fails because of Berth,
 * not because of the test).
 */
export async function startRegistryUnderTest(): Promise<Registry> {
  if (process.env.BERTH_E2E_REGISTRY === 'distribution') return startDistribution();
  const berth = await startBerth();
  return { url: berth.url, host: berth.host, output: () => berth.output(), stop: () => berth.stop() };
}
