/**
 * The real engines of the scale-out tests: an S3 store (Ceph RADOS Gateway) and PostgreSQL.
 *
 * `scripts/test.sh` starts both once for the whole run (scripts/services/*.sh) and exports
 * BERTH_TEST_S3_* and BERTH_TEST_POSTGRES_URL. A test file run on its own (`node --test
 * dist/...`) without them starts its own instance with the same script, once per process, and
 * stops it when the process exits. When the engine is not installed, the test fails under CI
 * (CI=true: a missing engine must never pass as green) and is skipped elsewhere, with the reason.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface S3Service {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

/** What a test gets: the service, or why it is missing (then the test is skipped, never under CI). */
export type Availability<T> = { service: T; skip?: undefined } | { service?: undefined; skip: string };

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('repository root not found');
    dir = parent;
  }
  return dir;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(path.join(dir, command)));
}

/** Starts `scripts/services/NAME.sh` in a fresh folder, stopped at exit; returns the variables it exported. */
function startOwn(name: string): Record<string, string> {
  const script = path.join(repoRoot(), 'scripts', 'services', `${name}.sh`);
  // Short: Ceph's unix sockets live under it.
  const dir = `/tmp/berth-${name}-${randomBytes(4).toString('hex')}`;
  execFileSync('bash', [script, 'start', dir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
  process.once('exit', () => {
    execFileSync('bash', [script, 'stop', dir], { stdio: 'ignore', timeout: 60_000 });
  });
  return Object.fromEntries(
    readFileSync(path.join(dir, 'env'), 'utf8')
      .split('\n')
      .map((line) => /^export ([A-Z0-9_]+)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}

function unavailable<T>(reason: string): Availability<T> {
  if (process.env.CI === 'true')
    throw new Error(`${reason} (CI=true: tests that need it fail rather than skip)`);
  return { skip: reason };
}

let s3: Availability<S3Service> | undefined;

/** The S3 store for this test process: from BERTH_TEST_S3_*, or one started here. */
export function s3Service(): Availability<S3Service> {
  if (s3) return s3;
  let env: Record<string, string | undefined> = process.env;
  if (env.BERTH_TEST_S3_ENDPOINT === undefined) {
    if (!onPath('radosgw') || !onPath('ceph-mon') || !onPath('ceph-osd')) {
      return (s3 = unavailable(
        'no S3 store: BERTH_TEST_S3_ENDPOINT unset and Ceph (ceph-mon ceph-osd radosgw) not installed',
      ));
    }
    env = startOwn('ceph-rgw');
  }
  const { BERTH_TEST_S3_ENDPOINT, BERTH_TEST_S3_ACCESS_KEY, BERTH_TEST_S3_SECRET_KEY, BERTH_TEST_S3_REGION } =
    env;
  if (!BERTH_TEST_S3_ENDPOINT || !BERTH_TEST_S3_ACCESS_KEY || !BERTH_TEST_S3_SECRET_KEY) {
    return (s3 = unavailable('BERTH_TEST_S3_ENDPOINT, _ACCESS_KEY and _SECRET_KEY must all be set'));
  }
  return (s3 = {
    service: {
      endpoint: BERTH_TEST_S3_ENDPOINT,
      accessKey: BERTH_TEST_S3_ACCESS_KEY,
      secretKey: BERTH_TEST_S3_SECRET_KEY,
      region: BERTH_TEST_S3_REGION ?? 'us-east-1',
    },
  });
}

let postgres: Availability<string> | undefined;

/** A PostgreSQL URL for this test process (postgres://user:pass@127.0.0.1:port/db): from BERTH_TEST_POSTGRES_URL, or a server started here. */
export function postgresService(): Availability<string> {
  if (postgres) return postgres;
  let url = process.env.BERTH_TEST_POSTGRES_URL;
  if (url === undefined) {
    if (!existsSync('/usr/lib/postgresql') && !onPath('initdb')) {
      return (postgres = unavailable(
        'no PostgreSQL: BERTH_TEST_POSTGRES_URL unset and postgresql not installed',
      ));
    }
    url = startOwn('postgres').BERTH_TEST_POSTGRES_URL;
  }
  if (!url) return (postgres = unavailable('BERTH_TEST_POSTGRES_URL is empty'));
  return (postgres = { service: url });
}
