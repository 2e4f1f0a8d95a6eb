/**
 * Starts a real Berth process (`node dist/src/cli/main.js serve CONFIG`) on a random loopback
 * port, and stops it by its PID. Every e2e and conformance test drives the server through this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(PROJECT_ROOT, 'dist/src/cli/main.js');

/** Berth's own shutdown deadline is 40 s (`cli/main.ts`); a little more before calling it stuck. */
const STOP_DEADLINE_MS = 50_000;

export interface RunningServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Host and port as a registry reference prefix: `127.0.0.1:PORT`. */
  host: string;
  root: string;
  configPath: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a crash. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** A zot-format config; `storage.rootDirectory` and `http.port` are filled in when absent. */
  config?: Record<string, unknown>;
  /** Reuse a storage root (for restarts); a fresh temporary folder otherwise. */
  root?: string;
  /** Reuse a port (for restarts). */
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** Another build's `dist/src/cli/main.js` (a benchmark's baseline); this checkout's by default. */
  cli?: string;
  /** Node flags for the server process, e.g. `--cpu-prof` or `--trace-gc` (benchmarks). */
  nodeArgs?: string[];
  /** Remove the root folder on stop (default: only when this call created it). */
  cleanup?: boolean;
}

function withDefaults(config: Record<string, unknown>, root: string, port: number): Record<string, unknown> {
  const storage = { ...(config.storage as Record<string, unknown> | undefined) };
  storage.rootDirectory ??= root;
  const http = { ...(config.http as Record<string, unknown> | undefined) };
  http.address ??= '127.0.0.1';
  http.port ??= String(port);
  const log = { level: 'info', ...(config.log as Record<string, unknown> | undefined) };
  return { distSpecVersion: '1.1.0', ...config, storage, http, log };
}

export async function startBerth(options: StartOptions = {}): Promise<RunningServer> {
  const createdRoot = options.root === undefined;
  const root = options.root ?? (await mkdtemp(path.join(tmpdir(), 'berth-test-')));
  const config = withDefaults(options.config ?? {}, root, options.port ?? 0);
  const configPath = path.join(root, `..`, `${path.basename(root)}.config.json`);
  await writeFile(configPath, JSON.stringify(config, null, 2));

  const proc = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.cli ?? CLI, 'serve', configPath],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    },
  );
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth did not start in 20 s:\n${out}`)), 20_000);
    let listening = false;
    const onData = (chunk: string): void => {
      out += chunk;
      if (listening) return;
      for (const line of out.split('\n')) {
        if (!line.includes('"listening"')) continue;
        try {
          const rec = JSON.parse(line) as { msg?: string; port?: number };
          if (rec.msg === 'listening' && typeof rec.port === 'number') {
            clearTimeout(timer);
            listening = true;
            resolve(rec.port);
            return;
          }
        } catch {
          // a partial line; wait for more
        }
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (c: string) => (out += c));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`berth exited with ${code} before listening:\n${out}`));
    });
  });

  const cleanup = options.cleanup ?? createdRoot;
  const finish = async (signal: NodeJS.Signals): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    // Berth exits within 40 s of SIGTERM whatever its clients do; a process that does not is
    // stuck (a busy loop ignores the signal's handler): kill it and fail, rather than hang the file.
    let stuck: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      stuck = setTimeout(() => resolve(true), STOP_DEADLINE_MS);
    });
    const hung = await Promise.race([exited.then(() => false), gaveUp]);
    clearTimeout(stuck);
    if (hung) {
      proc.kill('SIGKILL');
      await exited;
      throw new Error(
        `berth did not exit within ${STOP_DEADLINE_MS / 1000} s of ${signal}:\n${out.slice(-4000)}`,
      );
    }
    if (cleanup && signal === 'SIGTERM') {
      await rm(root, { recursive: true, force: true });
      await rm(configPath, { force: true });
    }
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    host: `127.0.0.1:${port}`,
    root,
    configPath,
    proc,
    output: () => out,
    stop: () => finish('SIGTERM'),
    kill: () => finish('SIGKILL'),
  };
}
