/**
 * The benchmark's knobs, from flags or `BENCH_*` environment variables (a flag wins). `--quick`
 * shrinks every count for a smoke run of a minute or so.
 */
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';

export interface BenchOptions {
  quick: boolean;
  concurrency: number[];
  /** Measurements per level and registry, interleaved; the median round is reported. */
  rounds: number;
  /** Scenario ids to run (all when empty). */
  only: string[];
  /** Operations per concurrency level for manifest GET and blob HEAD. */
  smallOps: number;
  /** 1 KiB-layer images pushed per concurrency level. */
  pushOps: number;
  layerBytes: number;
  largeBytes: number;
  /** Large-blob pushes or pulls per level (at least the level's concurrency). */
  largeOps: number;
  catalogRepos: number;
  /** Full catalog walks per level (at least the level's concurrency). */
  catalogWalks: number;
  catalogPageSize: number;
  /** Push every image of a run into one repository instead of one repository per worker. */
  sameRepo: boolean;
  /** Measure the machine's own limits (sha256, fsync'd writes, loopback). */
  probe: boolean;
  berthUrl?: string;
  berthPid?: number;
  distributionUrl?: string;
  distributionPid?: number;
  /** Distribution's in-memory blob-descriptor cache (on in its packaged config). */
  distributionCache: boolean;
  /** Run a second Distribution in Berth's place (to develop the benchmark without Berth). */
  berthIsDistribution: boolean;
  /** Also benchmark the push floor (floor-registry.ts) in the push scenarios. */
  floor: boolean;
  /** Extra arguments for Berth's node process, e.g. `--cpu-prof --cpu-prof-dir=DIR`. */
  berthNodeArgs: string[];
  workDir: string;
  outDir: string;
}

const MiB = 1 << 20;

export const USAGE = `Usage: node dist/bench/run.js [options]   (npm run bench -- [options])

Compares Berth with CNCF Distribution (docker-registry) in the same run.

  --quick                   small counts and 8 MiB "large" blobs: a smoke run
  --concurrency 1,8,32      concurrency levels
  --rounds N                measure each level N times, interleaved; report the median (default 1)
  --only a,b                scenarios: catalog-paged, catalog-full, manifest-get, blob-head,
                            blob-get-large, push-small, push-large
  --small-ops N             manifest GETs / blob HEADs per level        (default 20000)
  --push-ops N              1 KiB-layer images pushed per level         (default 2000)
  --layer-bytes N           small layer size                            (default 1024)
  --large-mib N             large blob size in MiB                      (default 100)
  --large-ops N             large pushes / pulls per level, >= level    (default 8)
  --catalog-repos N         repositories created for the catalog walk   (default 1000)
  --catalog-walks N         walks per level, >= level                   (default 50)
  --catalog-page N          page size of the paginated walk             (default 100)
  --same-repo               push all images of a run into one repository
  --no-probe                skip measuring sha256 / fsync / loopback limits
  --berth-url URL           benchmark a Berth already running there instead of starting one
  --berth-pid PID           its PID, for memory figures
  --berth-node-args=ARGS    extra node flags for Berth, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  --berth-is-distribution   start a second Distribution in Berth's place (developing the bench)
  --floor                   also push to the push floor (bench/floor-registry.ts): the least a
                            push with Berth's layout and fsyncs costs here; push scenarios only
  --distribution-url URL    a Distribution already running; --distribution-pid PID
  --distribution-cache X    inmemory (default, as Debian's packaged config) or none
  --work-dir DIR            where the servers' temporary storage goes  (default: os tmpdir)
  --out DIR                 where the JSON result goes                  (default test-output/bench)

Every option can also be given as an environment variable: --large-mib 10 is BENCH_LARGE_MIB=10.`;

const SPEC = {
  help: { type: 'boolean' },
  quick: { type: 'boolean' },
  concurrency: { type: 'string' },
  rounds: { type: 'string' },
  only: { type: 'string' },
  'small-ops': { type: 'string' },
  'push-ops': { type: 'string' },
  'layer-bytes': { type: 'string' },
  'large-mib': { type: 'string' },
  'large-ops': { type: 'string' },
  'catalog-repos': { type: 'string' },
  'catalog-walks': { type: 'string' },
  'catalog-page': { type: 'string' },
  'same-repo': { type: 'boolean' },
  'no-probe': { type: 'boolean' },
  'berth-url': { type: 'string' },
  'berth-pid': { type: 'string' },
  'berth-is-distribution': { type: 'boolean' },
  'berth-node-args': { type: 'string' },
  floor: { type: 'boolean' },
  'distribution-url': { type: 'string' },
  'distribution-pid': { type: 'string' },
  'distribution-cache': { type: 'string' },
  'work-dir': { type: 'string' },
  out: { type: 'string' },
} as const;

type Flag = keyof typeof SPEC;

function distributionCache(value: string | undefined): boolean {
  if (value === undefined || value === 'inmemory') return true;
  if (value === 'none') return false;
  throw new Error(`--distribution-cache: inmemory or none, got "${value}"`);
}

/** Parses argv and the environment; returns undefined when `--help` was asked for. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | undefined {
  const { values } = parseArgs({ args: argv, options: SPEC, strict: true, allowPositionals: false });
  const flags = values as Partial<Record<Flag, string | boolean>>;
  const get = (flag: Flag): string | undefined => {
    const v = flags[flag];
    if (typeof v === 'string') return v;
    if (v === true) return 'true';
    return env[`BENCH_${flag.toUpperCase().replace(/-/g, '_')}`];
  };
  const bool = (flag: Flag): boolean => ['1', 'true', 'yes'].includes(get(flag) ?? '');
  const int = (flag: Flag, fallback: number): number => {
    const raw = get(flag);
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag}: expected a whole number, got "${raw}"`);
    return n;
  };
  const list = (flag: Flag): string[] =>
    (get(flag) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const optionalInt = (flag: Flag): number | undefined =>
    get(flag) === undefined ? undefined : int(flag, 0);

  if (bool('help')) return undefined;
  const quick = bool('quick');
  const concurrency = list('concurrency').map(Number);
  if (concurrency.some((c) => !Number.isInteger(c) || c < 1))
    throw new Error('--concurrency: positive integers');

  const options: BenchOptions = {
    quick,
    concurrency: concurrency.length > 0 ? concurrency : [1, 8, 32],
    rounds: Math.max(1, int('rounds', 1)),
    only: list('only'),
    smallOps: int('small-ops', quick ? 1000 : 20_000),
    pushOps: int('push-ops', quick ? 200 : 2000),
    layerBytes: int('layer-bytes', 1024),
    largeBytes: int('large-mib', quick ? 8 : 100) * MiB,
    largeOps: int('large-ops', quick ? 2 : 8),
    catalogRepos: int('catalog-repos', quick ? 200 : 1000),
    catalogWalks: int('catalog-walks', quick ? 3 : 50),
    catalogPageSize: int('catalog-page', 100),
    sameRepo: bool('same-repo'),
    probe: !bool('no-probe') && !quick,
    berthIsDistribution: bool('berth-is-distribution'),
    floor: bool('floor'),
    berthNodeArgs: (get('berth-node-args') ?? '').split(/\s+/).filter((a) => a !== ''),
    distributionCache: distributionCache(get('distribution-cache')),
    workDir: get('work-dir') ?? tmpdir(),
    outDir: get('out') ?? 'test-output/bench',
  };
  const berthUrl = get('berth-url');
  if (berthUrl !== undefined) options.berthUrl = berthUrl;
  const berthPid = optionalInt('berth-pid');
  if (berthPid !== undefined) options.berthPid = berthPid;
  const distributionUrl = get('distribution-url');
  if (distributionUrl !== undefined) options.distributionUrl = distributionUrl;
  const distributionPid = optionalInt('distribution-pid');
  if (distributionPid !== undefined) options.distributionPid = distributionPid;
  return options;
}
