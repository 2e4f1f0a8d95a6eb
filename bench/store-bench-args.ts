/**
 * The flags of the benchmarks that run against the large store (`bench/ui.ts`, `bench/search.ts`):
 * its size, how many samples per measurement, and whether to keep or reuse the built store.
 */
import { parseArgs } from 'node:util';

export interface StoreBenchOptions {
  repos: number;
  tags: number;
  samples: number;
  /** Keep the store's folder after the run (implied by `reuse`). */
  keep: boolean;
  /** A folder kept by an earlier run, used instead of building the store again. */
  reuse?: string;
  /** Where to write the results as JSON. */
  out?: string;
  /** Flags of the benchmark's own, by name. */
  flags: Record<string, boolean>;
}

/** Parses argv; `--help` prints the usage line and exits. */
export function parseStoreBenchArgs(
  argv: string[],
  script: string,
  ownFlags: string[] = [],
): StoreBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      repos: { type: 'string', default: '10000' },
      tags: { type: 'string', default: '100' },
      samples: { type: 'string', default: '40' },
      keep: { type: 'boolean', default: false },
      reuse: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      ...Object.fromEntries(ownFlags.map((flag) => [flag, { type: 'boolean' as const, default: false }])),
    },
    strict: true,
  });
  if (values.help) {
    const own = ownFlags.map((flag) => ` [--${flag}]`).join('');
    process.stdout.write(
      `node dist/bench/${script}.js [--repos 10000] [--tags 100] [--samples 40]${own} [--keep] [--reuse DIR] [--out FILE]\n`,
    );
    process.exit(0);
  }
  const count = (name: 'repos' | 'tags' | 'samples'): number => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} needs a positive whole number`);
    return value;
  };
  const { reuse, out } = values;
  const flagValues = values as Record<string, unknown>;
  return {
    repos: count('repos'),
    tags: count('tags'),
    samples: count('samples'),
    keep: Boolean(values.keep) || reuse !== undefined,
    ...(reuse === undefined ? {} : { reuse }),
    ...(out === undefined ? {} : { out }),
    flags: Object.fromEntries(ownFlags.map((flag) => [flag, Boolean(flagValues[flag])])),
  };
}
