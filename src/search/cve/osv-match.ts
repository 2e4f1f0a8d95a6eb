/**
 * Whether an OSV advisory (ossf.github.io/osv-schema) affects an installed package, and the
 * advisory as Berth reports it. An `affected[]` entry applies when its ecosystem is the package's
 * (a distribution's entry may add a qualifier: `Ubuntu:22.04:LTS`) and its name is the package's;
 * then the version is affected when it is listed in `versions`, or when an ECOSYSTEM or SEMVER
 * range's events, in version order, leave it affected ("Evaluation" in the schema).
 */
import { cvss3BaseScore, ratingOf } from './cvss.js';
import type { InstalledPackage } from './inventory/index.js';
import { normalizePythonName } from './inventory/language-packages.js';
import type { Severity, Vulnerability } from './types.js';
import { comparatorFor, type Compare } from './versions/index.js';

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvAffected {
  package?: { ecosystem?: string; name?: string };
  ranges?: { type?: string; events?: OsvEvent[] }[];
  versions?: string[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

export interface OsvAdvisory {
  id: string;
  summary?: string;
  details?: string;
  aliases?: string[];
  upstream?: string[];
  withdrawn?: string;
  severity?: { type?: string; score?: string }[];
  affected?: OsvAffected[];
  references?: { type?: string; url?: string }[];
  database_specific?: Record<string, unknown>;
}

/** The name an ecosystem files a package under, comparable across spellings. */
export function matchKey(ecosystem: string, name: string): string {
  return ecosystem.startsWith('PyPI') ? normalizePythonName(name) : name;
}

function ecosystemApplies(affected: string, installed: string): boolean {
  return affected === installed || affected.startsWith(`${installed}:`);
}

function eventVersion(e: OsvEvent): string | undefined {
  return e.introduced ?? e.fixed ?? e.last_affected ?? e.limit;
}

/** `{ fixed }` when the range leaves `version` affected (fixed: the first fix above it, if any). */
function inRange(
  events: OsvEvent[],
  version: string,
  compare: Compare,
): { fixed: string | null } | undefined {
  const order = (e: OsvEvent): string => eventVersion(e) ?? '';
  const sorted = events
    .filter((e) => eventVersion(e) !== undefined)
    .sort((a, b) => (a.introduced === '0' ? -1 : b.introduced === '0' ? 1 : compare(order(a), order(b))));
  let affected = false;
  for (const e of sorted) {
    if (e.introduced !== undefined) {
      if (e.introduced === '0' || compare(version, e.introduced) >= 0) affected = true;
    } else if (e.fixed !== undefined) {
      if (compare(version, e.fixed) >= 0) affected = false;
    } else if (e.last_affected !== undefined) {
      if (compare(version, e.last_affected) > 0) affected = false;
    }
  }
  if (!affected) return undefined;
  const fixes = sorted.filter((e) => e.fixed !== undefined && compare(e.fixed, version) > 0);
  return { fixed: fixes[0]?.fixed ?? null };
}

/** Whether the advisory affects the package: `{ fixed }` if so, undefined if not. */
export function affects(advisory: OsvAdvisory, pkg: InstalledPackage): { fixed: string | null } | undefined {
  if (advisory.withdrawn) return undefined;
  const name = matchKey(pkg.ecosystem, pkg.matchName ?? pkg.name);
  const version = pkg.matchVersion ?? pkg.version;
  const compare = comparatorFor(pkg.ecosystem);
  if (!compare) return undefined;
  const bare = pkg.ecosystem === 'Go' ? version.replace(/^v/, '') : version;
  for (const a of advisory.affected ?? []) {
    const eco = a.package?.ecosystem;
    if (!eco || !a.package?.name || !ecosystemApplies(eco, pkg.ecosystem)) continue;
    if (matchKey(eco, a.package.name) !== name) continue;
    if (a.versions?.includes(version) || a.versions?.includes(bare)) {
      const fixed = a.ranges
        ?.flatMap((r) => r.events ?? [])
        .find((e) => e.fixed && compare(e.fixed, version) > 0)?.fixed;
      return { fixed: fixed ?? null };
    }
    for (const range of a.ranges ?? []) {
      if (range.type !== 'ECOSYSTEM' && range.type !== 'SEMVER') continue;
      const hit = inRange(range.events ?? [], pkg.ecosystem === 'Go' ? bare : version, compare);
      if (hit) return hit;
    }
  }
  return undefined;
}

const WORDS: Record<string, Severity> = {
  CRITICAL: 'CRITICAL',
  HIGH: 'HIGH',
  IMPORTANT: 'HIGH',
  MODERATE: 'MEDIUM',
  MEDIUM: 'MEDIUM',
  LOW: 'LOW',
  NEGLIGIBLE: 'LOW',
};

function word(value: unknown): Severity | undefined {
  return typeof value === 'string' ? WORDS[value.trim().toUpperCase()] : undefined;
}

/** The advisory's severity: its CVSS v3 vector's rating, else the rating it states, else UNKNOWN. */
export function severityOf(advisory: OsvAdvisory): Severity {
  for (const s of advisory.severity ?? []) {
    if (s.type === 'CVSS_V3' && s.score) {
      const score = cvss3BaseScore(s.score);
      if (score !== undefined) return ratingOf(score);
    }
  }
  const stated =
    word(advisory.database_specific?.severity) ??
    advisory.severity?.map((s) => word(s.score)).find((w) => w !== undefined) ??
    advisory.affected
      ?.map((a) => word(a.ecosystem_specific?.severity) ?? word(a.database_specific?.severity))
      .find((w) => w !== undefined);
  return stated ?? 'UNKNOWN';
}

/** The advisory as Berth reports it, without its packages. */
export function describe(advisory: OsvAdvisory): Omit<Vulnerability, 'packages'> {
  const refs = advisory.references ?? [];
  const reference = refs.find((r) => r.type === 'ADVISORY')?.url ?? refs.find((r) => r.url)?.url ?? null;
  const aliases = [...new Set([...(advisory.aliases ?? []), ...(advisory.upstream ?? [])])].filter(
    (a) => a !== advisory.id,
  );
  return {
    id: advisory.id,
    title:
      advisory.summary?.trim() || (advisory.details ?? '').split('\n', 1)[0]!.slice(0, 200) || advisory.id,
    description: advisory.details ?? advisory.summary ?? '',
    severity: severityOf(advisory),
    reference,
    aliases,
  };
}
