/**
 * Compares two V8 heap snapshots (`.heapsnapshot`, as `v8.writeHeapSnapshot` writes them) by
 * constructor: how many objects of each kind are alive and their shallow size, in each snapshot
 * and the difference. A leak shows as a kind that keeps growing between a mid-run and an end
 * snapshot under the same steady load; warm-up (caches filling, code being compiled) has levelled
 * off by mid-run and shows as no or a small change.
 *
 *   node dist/bench/soak-heap-compare.js A.heapsnapshot B.heapsnapshot [--top 25]
 *
 * Snapshots of a busy server are 50–200 MB of JSON: the node table (millions of integers) is
 * scanned straight from the file's bytes into a typed array instead of through `JSON.parse`; only
 * the small header and the string table are parsed as JSON. Edges are not read (sizes are shallow).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface KindTotals {
  count: number;
  /** Shallow size in bytes. */
  size: number;
}

export interface SnapshotSummary {
  nodes: number;
  totalSize: number;
  kinds: Map<string, KindTotals>;
}

interface SnapshotMeta {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[], ...unknown[]] };
    node_count: number;
  };
}

/** Parses the non-negative integers of the JSON array that starts at `buf[start] === '['`. */
function scanIntegers(buf: Buffer, start: number, expected: number): Float64Array {
  const out = new Float64Array(expected);
  let n = 0;
  let value = 0;
  let inNumber = false;
  for (let i = start + 1; i < buf.length; i++) {
    const c = buf[i]!;
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      inNumber = true;
    } else {
      if (inNumber) {
        out[n++] = value;
        value = 0;
        inNumber = false;
      }
      if (c === 93) break; // ']'
    }
  }
  if (n !== expected) throw new Error(`node table: expected ${expected} integers, read ${n}`);
  return out;
}

/** The name a node is grouped under, close to the "Constructor" column of DevTools' summary. */
function kindOf(type: string, name: string): string {
  switch (type) {
    case 'object':
      return name;
    case 'closure':
      return `(closure) ${name === '' ? '(anonymous)' : name}`;
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'number':
    case 'heap number':
      return '(number)';
    case 'code':
      return '(code)';
    case 'native':
      return `(native) ${name}`;
    case 'array':
    case 'hidden':
      return `(${type}) ${name}`;
    default:
      return `(${type})`;
  }
}

export function summarizeSnapshot(file: string): SnapshotSummary {
  const buf = readFileSync(file);
  const nodesAt = buf.indexOf('"nodes":[');
  if (nodesAt === -1) throw new Error(`${file}: no "nodes" table; not a heap snapshot?`);
  const header = buf.toString('utf8', 0, nodesAt).trimEnd().replace(/,$/, '');
  const meta = (JSON.parse(`${header}}`) as SnapshotMeta).snapshot;
  const fields = meta.meta.node_fields;
  const types = meta.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  if (typeAt === -1 || nameAt === -1 || sizeAt === -1) throw new Error(`${file}: unexpected node fields`);
  const nodes = scanIntegers(buf, nodesAt + '"nodes":'.length, meta.node_count * width);

  const stringsAt = buf.lastIndexOf('"strings":[');
  const stringsEnd = buf.lastIndexOf(']');
  if (stringsAt === -1 || stringsEnd < stringsAt) throw new Error(`${file}: no string table`);
  const strings = JSON.parse(
    buf.toString('utf8', stringsAt + '"strings":'.length, stringsEnd + 1),
  ) as string[];

  const kinds = new Map<string, KindTotals>();
  let totalSize = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt!]!] ?? 'unknown';
    if (type === 'synthetic') continue; // GC roots and the like: not objects
    const kind = kindOf(type, strings[nodes[i + nameAt!]!] ?? '');
    const size = nodes[i + sizeAt!]!;
    const totals = kinds.get(kind);
    if (totals === undefined) kinds.set(kind, { count: 1, size });
    else {
      totals.count++;
      totals.size += size;
    }
    totalSize += size;
  }
  return { nodes: meta.node_count, totalSize, kinds };
}

export interface KindChange {
  kind: string;
  a: KindTotals;
  b: KindTotals;
}

export function compareSummaries(a: SnapshotSummary, b: SnapshotSummary): KindChange[] {
  const none: KindTotals = { count: 0, size: 0 };
  const names = new Set([...a.kinds.keys(), ...b.kinds.keys()]);
  return [...names].map((kind) => ({ kind, a: a.kinds.get(kind) ?? none, b: b.kinds.get(kind) ?? none }));
}

const mib = (bytes: number): string => (bytes / 1048576).toFixed(2);
const signed = (n: number, digits = 0): string => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;

/** The comparison as text: totals, then the kinds that grew most by size and by count. */
export function formatComparison(a: SnapshotSummary, b: SnapshotSummary, top = 25): string {
  const changes = compareSummaries(a, b);
  const row = ({ kind, a: x, b: y }: KindChange): string =>
    `${kind.slice(0, 48).padEnd(48)} ${String(x.count).padStart(9)} ${String(y.count).padStart(9)} ${signed(y.count - x.count).padStart(8)} ${mib(x.size).padStart(9)} ${mib(y.size).padStart(9)} ${signed((y.size - x.size) / 1048576, 2).padStart(8)}`;
  const head = `${'constructor'.padEnd(48)} ${'count A'.padStart(9)} ${'count B'.padStart(9)} ${'Δ'.padStart(8)} ${'MiB A'.padStart(9)} ${'MiB B'.padStart(9)} ${'Δ MiB'.padStart(8)}`;
  const bySize = [...changes].sort((x, y) => Math.abs(y.b.size - y.a.size) - Math.abs(x.b.size - x.a.size));
  const byCount = [...changes].sort((x, y) => y.b.count - y.a.count - (x.b.count - x.a.count));
  return [
    `A: ${a.nodes} nodes, ${mib(a.totalSize)} MiB shallow; B: ${b.nodes} nodes, ${mib(b.totalSize)} MiB shallow (${signed(((b.totalSize - a.totalSize) / a.totalSize) * 100, 1)}%)`,
    `largest size changes:`,
    head,
    ...bySize.slice(0, top).map(row),
    `largest count increases:`,
    head,
    ...byCount.slice(0, Math.ceil(top / 2)).map(row),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [fileA, fileB] = process.argv.slice(2).filter((arg) => arg.endsWith('.heapsnapshot'));
  if (fileA === undefined || fileB === undefined) {
    console.error('usage: soak-heap-compare.js A.heapsnapshot B.heapsnapshot [--top 25]');
    process.exit(2);
  }
  const topAt = process.argv.indexOf('--top');
  const top = topAt === -1 ? 25 : Number(process.argv[topAt + 1]);
  console.log(formatComparison(summarizeSnapshot(fileA), summarizeSnapshot(fileB), top));
}
