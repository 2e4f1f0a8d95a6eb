/**
 * Peak resident memory of a server process (and any processes it forked) during one measured run,
 * read from /proc: the kernel's own high-water mark (`VmHWM`, reset per run through `clear_refs`)
 * and a poll of `VmRSS` summed over the process tree, whichever is higher.
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

/** Watches one process tree's memory between {@link start} and {@link stop}. */
export class PeakMemory {
  private timer: NodeJS.Timeout | undefined;
  private polledPeak = 0;

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
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
  }

  private poll(): void {
    const rss = processTree(this.pid).reduce((sum, pid) => sum + statusField(pid, 'VmRSS'), 0);
    this.polledPeak = Math.max(this.polledPeak, rss);
  }

  /** Stops watching; returns the peak in bytes. */
  stop(): number {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.poll();
    const hwm = processTree(this.pid).reduce((sum, pid) => sum + statusField(pid, 'VmHWM'), 0);
    return Math.max(this.polledPeak, hwm);
  }
}
