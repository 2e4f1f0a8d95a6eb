/**
 * How to hash uploads: node:crypto (OpenSSL, fastest, but its state cannot be exported) against
 * hash-wasm (WASM, slower, but `save()`/`load()` turn its state into bytes that an upload session
 * record can carry between requests and processes). Hashes 100 MiB in 64 KiB chunks (the size an
 * HTTP request body arrives in) with each, and the cost of saving and loading the state.
 * `node dist/bench/hashing.js [MiB]`; results go in docs/benchmarks.md ("Hashing uploads").
 */
import { createHash } from 'node:crypto';
import { createSHA256 } from 'hash-wasm';

const MiB = 1024 * 1024;

interface Figure {
  name: string;
  mbPerSecond: number;
  cpuMsPerMiB: number;
}

function measure(name: string, bytes: number, run: () => void): Figure {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return {
    name,
    mbPerSecond: bytes / MiB / seconds,
    cpuMsPerMiB: (used.user + used.system) / 1000 / (bytes / MiB),
  };
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 100);
  const total = mib * MiB;
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
  const chunks = total / chunk.length;
  const wasm = await createSHA256();
  const figures: Figure[] = [];
  for (let round = 0; round < 3; round++) {
    figures.push(
      measure('node:crypto sha256', total, () => {
        const h = createHash('sha256');
        for (let i = 0; i < chunks; i++) h.update(chunk);
        h.digest('hex');
      }),
    );
    figures.push(
      measure('hash-wasm sha256', total, () => {
        wasm.init();
        for (let i = 0; i < chunks; i++) wasm.update(chunk);
        wasm.digest('hex');
      }),
    );
    // A chunked upload of 1 MiB chunks: one load + save per chunk on top of hashing it.
    figures.push(
      measure('hash-wasm sha256, state saved and loaded every MiB', total, () => {
        wasm.init();
        let state = wasm.save();
        for (let i = 0; i < chunks; i++) {
          if (i % 16 === 0) wasm.load(state);
          wasm.update(chunk);
          if (i % 16 === 15) state = wasm.save();
        }
        wasm.digest('hex');
      }),
    );
  }
  const saves = 100_000;
  wasm.init();
  wasm.update(chunk);
  const byName = new Map<string, Figure[]>();
  for (const f of figures) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  process.stdout.write(`hashing ${mib} MiB in 64 KiB chunks, median of 3\n`);
  for (const [name, list] of byName) {
    process.stdout.write(
      `${name.padEnd(52)} ${median(list.map((f) => f.mbPerSecond))
        .toFixed(0)
        .padStart(6)} MiB/s  ` + `${median(list.map((f) => f.cpuMsPerMiB)).toFixed(3)} CPU ms/MiB\n`,
    );
  }
  process.stdout.write(`save()+load() state size ${wasm.save().length} bytes\n`);
  const start = process.hrtime.bigint();
  for (let i = 0; i < saves; i++) wasm.load(wasm.save());
  process.stdout.write(
    `save()+load() pair: ${(Number(process.hrtime.bigint() - start) / saves / 1000).toFixed(2)} µs\n`,
  );
}

await main();
