/**
 * The body of a bcrypt worker thread (see `bcrypt-pool.ts`): compares one password with one hash
 * per message, synchronously — this thread does nothing else.
 */
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

interface Job {
  id: number;
  password: string;
  hash: string;
}

parentPort?.on('message', (job: Job) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(job.password, job.hash);
  } catch {
    ok = false;
  }
  parentPort?.postMessage({ id: job.id, ok });
});
