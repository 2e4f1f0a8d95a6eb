/**
 * What a server process (and any processes it forked) used during one measured run, read from
 * /proc: peak resident memory (the kernel's own high-water mark, `VmHWM`, reset per run through
 * `clear_refs`, or a poll of `VmRSS` summed over the process tree, whichever is higher) and CPU
 * time (user and system, all threads), which tells on a small machine who ate the cores.
 */
import { readFileSync, writeFileSync } from 'node:fs';

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

/** User and system CPU seconds of a process, all its threads. */
function cpuSeconds(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
  } catch {
    return { user: 0, system: 0 };
  }
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

export interface ProcessUsage {
  peakRssBytes: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
}

function treeCpu(pid: number): { user: number; system: number } {
  return processTree(pid)
    .map(cpuSeconds)
    .reduce((a, b) => ({ user: a.user + b.user, system: a.system + b.system }), { user: 0, system: 0 });
}

/** Watches one process tree between {@link start} and {@link stop}. */
export class ProcessWatch {
  private timer: NodeJS.Timeout | undefined;
  private polledPeak = 0;
  private cpuAtStart = { user: 0, system: 0 };

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
    return {
      peakRssBytes: Math.max(this.polledPeak, hwm),
      cpuUserSeconds: cpu.user - this.cpuAtStart.user,
      cpuSystemSeconds: cpu.system - this.cpuAtStart.system,
    };
  }
}
