/**
 * Summarises a V8 `.cpuprofile` (from `--berth-node-args=--cpu-prof`): where the server spent its
 * time, by function (self and inclusive) and by source file. Usage:
 * `node dist/bench/cpuprofile.js FILE.cpuprofile [TOP]`.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 6);
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + 14);
  return url === '' ? '(native)' : url;
}

function frameKey(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  return url === '' ? name : `${name} ${shortUrl(url)}:${lineNumber + 1}`;
}

function top(map: Map<string, number>, total: number, n: number): string {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, v]) =>
        `${((100 * v) / total).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`,
    )
    .join('\n');
}

/** Self time by frame and by file, and inclusive time by frame, as printable text. */
export function summarise(profile: Profile, n = 30): string {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (node === undefined) return;
    total += dt;
    const key = frameKey(node);
    if (node.callFrame.functionName === '(idle)') idle += dt;
    self.set(key, (self.get(key) ?? 0) + dt);
    const file =
      node.callFrame.url === ''
        ? `(${node.callFrame.functionName || 'native'})`
        : shortUrl(node.callFrame.url);
    files.set(file, (files.get(file) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur);
      if (frame === undefined) break;
      const k = frameKey(frame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  });
  return [
    `sampled ${(total / 1e6).toFixed(2)} s, idle ${((100 * idle) / total).toFixed(1)}%`,
    '',
    'self time by function:',
    top(self, total, n),
    '',
    'self time by file:',
    top(files, total, n),
    '',
    'inclusive time by function:',
    top(inclusive, total, n),
  ].join('\n');
}

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: node dist/bench/cpuprofile.js FILE.cpuprofile [TOP]');
  process.exitCode = 2;
} else {
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(process.argv[3] ?? 30)));
}
