/**
 * What a server process (and any processes it forked) used during one measured run, read from
 * /proc: peak resident memory (the kernel's own high-water mark, `VmHWM`, reset per run through
 * `clear_refs`, or a poll of `VmRSS` summed over the process tree, whichever is higher) and CPU
 * time of all its threads, which tells on a small machine who ate the cores.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const POLL_MS = 50;

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0; // the process has gone
  }
}

/** Clock ticks per second of /proc/PID/stat times: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

interface CpuTimes {
  /** On-CPU seconds of all threads, from schedstat (nanoseconds) when available. */
  total: number;
  /** User and system seconds from /proc/PID/stat (10 ms ticks): only for their ratio. */
  user: number;
  system: number;
}

const NO_CPU: CpuTimes = { total: 0, user: 0, system: 0 };

function cpuTimes(pid: number): CpuTimes {
  let user: number;
  let system: number;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    user = Number(fields[11]) / CLOCK_TICKS;
    system = Number(fields[12]) / CLOCK_TICKS;
  } catch {
    return NO_CPU; // the process has gone
  }
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
    }
  } catch {
    total = user + system; // no schedstat: fall back to the coarse ticks
  }
  return { total, user, system };
}

/** The process and its descendants, from each task's `children` list. */
function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    const current = all[i] as number;
    try {
      const children = readFileSync(`/proc/${current}/task/${current}/children`, 'utf8').trim();
      if (children !== '') all.push(...children.split(/\s+/).map(Number));
    } catch {
      // no children file (old kernel) or the process has gone: count what we have
    }
  }
  return all;
}

function treeCpu(pid: number): CpuTimes {
  return processTree(pid)
    .map(cpuTimes)
    .reduce(
      (a, b) => ({ total: a.total + b.total, user: a.user + b.user, system: a.system + b.system }),
      NO_CPU,
    );
}

export interface ProcessUsage {
  peakRssBytes: number;
  /** CPU seconds of every thread of the tree during the watch. */
  cpuSeconds: number;
  /** The kernel's share of that time (file creation, fsync, sockets), from coarse ticks. */
  systemShare: number;
}

/** Watches one process tree between {@link start} and {@link stop}. */
export class ProcessWatch {
  private timer: NodeJS.Timeout | undefined;
  private polledPeak = 0;
  private cpuAtStart: CpuTimes = NO_CPU;

  constructor(private readonly pid: number) {}

  start(): void {
    this.polledPeak = 0;
    for (const pid of processTree(this.pid)) {
      try {
        // "5" resets the peak-RSS counter (Linux 4.0+); without it VmHWM is the peak since start.
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
      } catch {
        // not permitted: the poll below still gives a figure
      }
    }
    this.cpuAtStart = treeCpu(this.pid);
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
  }

  private poll(): void {
    const rss = processTree(this.pid).reduce((sum, pid) => sum + statusField(pid, 'VmRSS'), 0);
    this.polledPeak = Math.max(this.polledPeak, rss);
  }

  /** Stops watching; returns the peak memory and the CPU time used since {@link start}. */
  stop(): ProcessUsage {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.poll();
    const hwm = processTree(this.pid).reduce((sum, pid) => sum + statusField(pid, 'VmHWM'), 0);
    const cpu = treeCpu(this.pid);
    const user = cpu.user - this.cpuAtStart.user;
    const system = cpu.system - this.cpuAtStart.system;
    return {
      peakRssBytes: Math.max(this.polledPeak, hwm),
      cpuSeconds: cpu.total - this.cpuAtStart.total,
      systemShare: user + system > 0 ? system / (user + system) : 0,
    };
  }
}
