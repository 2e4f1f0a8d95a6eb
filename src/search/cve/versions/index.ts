/**
 * The version order of each OSV ecosystem. OSV names an ecosystem optionally followed by a
 * release (`Debian:12`, `Alpine:v3.19`); the order depends on the part before the colon.
 */
import { compareApk } from './apk.js';
import { compareDpkg } from './dpkg.js';
import { comparePep440 } from './pep440.js';
import { compareSemver } from './semver.js';

export type Compare = (a: string, b: string) => number;

const BY_ECOSYSTEM: Record<string, Compare> = {
  Alpine: compareApk,
  Debian: compareDpkg,
  Ubuntu: compareDpkg,
  npm: compareSemver,
  Go: compareSemver,
  PyPI: comparePep440,
};

/** The comparator of an OSV ecosystem name, or undefined for one Berth does not order. */
export function comparatorFor(ecosystem: string): Compare | undefined {
  const base = ecosystem.split(':', 1)[0]!;
  return BY_ECOSYSTEM[base];
}
