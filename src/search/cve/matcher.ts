/**
 * An inventory matched against the OSV data: one vulnerability per advisory, with every
 * installed package it affects. When two advisories are the same vulnerability for the same
 * package (a GHSA and its PYSEC twin, a Debian advisory and its CVE), the first one found stands
 * for both.
 */
import type { InstalledPackage } from './inventory/index.js';
import type { OsvDatabase } from './osv-database.js';
import { affects, describe } from './osv-match.js';
import type { Vulnerability } from './types.js';

export async function matchInventory(
  osv: OsvDatabase,
  packages: InstalledPackage[],
): Promise<Vulnerability[]> {
  const byId = new Map<string, Vulnerability>();
  for (const pkg of packages) {
    const seen = new Set<string>();
    for (const advisory of await osv.advisoriesFor(pkg)) {
      const hit = affects(advisory, pkg);
      if (!hit) continue;
      const names = [advisory.id, ...(advisory.aliases ?? []), ...(advisory.upstream ?? [])];
      if (names.some((n) => seen.has(n))) continue;
      for (const n of names) seen.add(n);
      let v = byId.get(advisory.id);
      if (!v) {
        v = { ...describe(advisory), packages: [] };
        byId.set(advisory.id, v);
      }
      v.packages.push({
        name: pkg.name,
        installedVersion: pkg.version,
        fixedVersion: hit.fixed,
        ecosystem: pkg.ecosystem,
        ...(pkg.path !== undefined ? { path: pkg.path } : {}),
      });
    }
  }
  return [...byId.values()];
}
