/**
 * What the benchmark ran on, and that machine's own ceilings for the work a registry does:
 * hashing with sha256 on one core, fsync'd sequential writes, and loopback TCP.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
}

export interface Limits {
  /** GB/s (10^9 bytes) of sha256 on one core in this process. */
  sha256GBps: number;
  /** GB/s of a sequential write of 1 GiB followed by fsync, in the work folder. */
  fsyncWriteGBps: number;
  /** GB/s from this process to another over a loopback TCP connection. */
  loopbackGBps: number;
}

export function describeMachine(): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1] !== undefined) cpuModel = match[1].trim();
  } catch {
    // not Linux: keep os.cpus()'s name
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

const MiB = 1 << 20;

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function sha256Rate(): number {
  const chunk = randomBytes(MiB);
  const total = 1024;
  const start = process.hrtime.bigint();
  const hash = createHash('sha256');
  for (let i = 0; i < total; i++) hash.update(chunk);
  hash.digest();
  return (total * MiB) / 1e9 / seconds(start);
}

async function fsyncWriteRate(dir: string): Promise<number> {
  const file = path.join(dir, `berth-bench-probe-${process.pid}`);
  const chunk = randomBytes(4 * MiB);
  const total = 256; // 1 GiB
  const start = process.hrtime.bigint();
  const handle = await open(file, 'w');
  try {
    for (let i = 0; i < total; i++) await handle.write(chunk);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const rate = (total * 4 * MiB) / 1e9 / seconds(start);
  await rm(file, { force: true });
  return rate;
}

/** A sink in another process counts what it receives and answers with the count at the end. */
const SINK = `
const net = require('node:net');
const server = net.createServer((s) => {
  let n = 0;
  s.on('data', (c) => { n += c.length; });
  s.on('end', () => { s.end(String(n)); server.close(); });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function loopbackRate(): Promise<number> {
  const child = spawn(process.execPath, ['-e', SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding('utf8').once('data', (line: string) => resolve(Number(line.trim())));
      child.once('error', reject);
    });
    const chunk = randomBytes(MiB);
    const total = 2048;
    const start = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', reject);
      socket.on('data', () => undefined);
      socket.on('end', () => resolve());
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += 1;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      socket.on('connect', pump);
    });
    return (total * MiB) / 1e9 / seconds(start);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
}

/** Measures the machine's limits; takes a few seconds. */
export async function measureLimits(workDir: string): Promise<Limits> {
  return {
    sha256GBps: sha256Rate(),
    fsyncWriteGBps: await fsyncWriteRate(workDir),
    loopbackGBps: await loopbackRate(),
  };
}
