/**
 * bcrypt comparisons off the event loop. A pure-JS bcrypt check at cost 10 is tens of milliseconds
 * of CPU; on the main thread a flood of wrong passwords (each always checked in full) would delay
 * every other request, anonymous pulls included. A few worker threads do the checks instead, and
 * the queue in front of them is bounded: past it, a check is refused at once as "busy" rather
 * than queued for ever (the caller answers 429), so a flood costs at most the pool's threads.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface BcryptPoolOptions {
  /** Worker threads. Default: one fewer than the CPUs, between 1 and 2. */
  readonly threads?: number;
  /** Checks waiting for a thread beyond which new ones are refused. Default 64. */
  readonly maxQueued?: number;
}

/** The answer when the queue is full: the password was not checked. */
export const BCRYPT_BUSY = 'busy' as const;

interface Pending {
  resolve: (ok: boolean) => void;
}

interface Job {
  id: number;
  password: string;
  hash: string;
}

export class BcryptPool {
  readonly #size: number;
  readonly #maxQueued: number;
  readonly #idle: Worker[] = [];
  readonly #workers: Worker[] = [];
  readonly #queue: Job[] = [];
  readonly #pending = new Map<number, Pending>();
  /** The check each busy thread is running. */
  readonly #running = new Map<Worker, number>();
  #next = 0;

  constructor(options: BcryptPoolOptions = {}) {
    this.#size = options.threads ?? Math.max(1, Math.min(2, availableParallelism() - 1));
    this.#maxQueued = options.maxQueued ?? 64;
  }

  /** Whether `password` matches the bcrypt `hash`; {@link BCRYPT_BUSY} when the queue is full. */
  compare(password: string, hash: string): Promise<boolean | typeof BCRYPT_BUSY> {
    if (this.#queue.length >= this.#maxQueued) return Promise.resolve(BCRYPT_BUSY);
    const id = ++this.#next;
    return new Promise((resolve) => {
      this.#pending.set(id, { resolve });
      this.#queue.push({ id, password, hash });
      this.#dispatch();
    });
  }

  /** Stops the threads; checks still waiting answer false. */
  async close(): Promise<void> {
    for (const job of this.#queue.splice(0)) this.#settle(job.id, false);
    await Promise.all(this.#workers.splice(0).map((w) => w.terminate()));
    this.#idle.length = 0;
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const worker = this.#idle.pop() ?? this.#spawn();
      if (worker === undefined) return;
      const job = this.#queue.shift()!;
      this.#running.set(worker, job.id);
      // A thread with work holds the process open; an idle one does not (see #spawn).
      worker.ref();
      worker.postMessage(job);
    }
  }

  #spawn(): Worker | undefined {
    if (this.#workers.length >= this.#size) return undefined;
    const worker = new Worker(new URL('./bcrypt-worker.js', import.meta.url));
    worker.on('message', ({ id, ok }: { id: number; ok: boolean }) => {
      this.#running.delete(worker);
      worker.unref();
      this.#settle(id, ok);
      this.#idle.push(worker);
      this.#dispatch();
    });
    worker.on('error', () => {
      // A crashed thread fails its check closed and is replaced on demand.
      const current = this.#running.get(worker);
      this.#running.delete(worker);
      if (current !== undefined) this.#settle(current, false);
      this.#workers.splice(this.#workers.indexOf(worker), 1);
      const idle = this.#idle.indexOf(worker);
      if (idle !== -1) this.#idle.splice(idle, 1);
      this.#dispatch();
    });
    // Idle threads must not keep the process alive at shutdown (unref after the listeners,
    // which would otherwise take a reference again).
    worker.unref();
    this.#workers.push(worker);
    return worker;
  }

  #settle(id: number, ok: boolean): void {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    pending?.resolve(ok);
  }
}
