/**
 * Language packages an image carries: npm lockfiles (`package-lock.json` and npm's hidden
 * `node_modules/.package-lock.json`, lockfile versions 1 to 3), and installed Python
 * distributions (`*.dist-info/METADATA`, `*.egg-info/PKG-INFO`: core metadata headers).
 */
import type { InstalledPackage } from './package.js';

interface LockV1Dependency {
  version?: string;
  dependencies?: Record<string, LockV1Dependency>;
}

export function parseNpmLock(text: string, path: string): InstalledPackage[] {
  let lock: unknown;
  try {
    lock = JSON.parse(text);
  } catch {
    return [];
  }
  if (typeof lock !== 'object' || lock === null) return [];
  const out: InstalledPackage[] = [];
  const seen = new Set<string>();
  const add = (name: string, version: unknown): void => {
    if (typeof version !== 'string' || !/^\d/.test(version)) return; // links, git and file URLs
    const key = `${name}@${version}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ ecosystem: 'npm', name, version, path });
  };
  const packages = (
    lock as { packages?: Record<string, { version?: unknown; name?: unknown; link?: unknown }> }
  ).packages;
  if (packages && typeof packages === 'object') {
    for (const [key, entry] of Object.entries(packages)) {
      // "" is the project itself; keys are paths ending in node_modules/<name>.
      const at = key.lastIndexOf('node_modules/');
      if (at < 0 || entry?.link === true) continue;
      add(
        typeof entry.name === 'string' ? entry.name : key.slice(at + 'node_modules/'.length),
        entry.version,
      );
    }
    return out;
  }
  const walk = (deps: Record<string, LockV1Dependency> | undefined): void => {
    for (const [name, dep] of Object.entries(deps ?? {})) {
      add(name, dep.version);
      walk(dep.dependencies);
    }
  };
  walk((lock as { dependencies?: Record<string, LockV1Dependency> }).dependencies);
  return out;
}

export function parsePythonMetadata(text: string, path: string): InstalledPackage | undefined {
  const header = text.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const name = /^Name:\s*(.+)$/m.exec(header)?.[1]?.trim();
  const version = /^Version:\s*(.+)$/m.exec(header)?.[1]?.trim();
  return name && version ? { ecosystem: 'PyPI', name, version, path } : undefined;
}

/** PEP 503's normalised project name, under which OSV's PyPI data can be matched. */
export function normalizePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}
