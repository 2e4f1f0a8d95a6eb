/**
 * Vulnerability answers from the scanner's results (`src/search/cve/`): the per-image summary
 * every ImageSummary carries, and the CVE lists. An index's vulnerabilities are those of its
 * children, each CVE counted once. zot's conventions: `MaxSeverity` is "" while an image is not
 * scanned (or the scanner is off) and "NONE" when the scan found nothing.
 */
import type { ImageScan, Severity, Vulnerability, VulnerabilityService } from './cve/types.js';

export interface VulnerabilitySummary {
  MaxSeverity: string;
  Count: number;
  UnknownCount: number;
  LowCount: number;
  MediumCount: number;
  HighCount: number;
  CriticalCount: number;
}

/** From least to most severe. */
const SEVERITY_ORDER: readonly Severity[] = ['NONE', 'UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

export function severityRank(severity: string): number {
  return SEVERITY_ORDER.indexOf(severity as Severity);
}

export const NOT_SCANNED: VulnerabilitySummary = Object.freeze({
  MaxSeverity: '',
  Count: 0,
  UnknownCount: 0,
  LowCount: 0,
  MediumCount: 0,
  HighCount: 0,
  CriticalCount: 0,
});

export function summarize(vulnerabilities: readonly Vulnerability[]): VulnerabilitySummary {
  const summary = { ...NOT_SCANNED, MaxSeverity: 'NONE' };
  for (const v of vulnerabilities) {
    summary.Count++;
    if (v.severity === 'CRITICAL') summary.CriticalCount++;
    else if (v.severity === 'HIGH') summary.HighCount++;
    else if (v.severity === 'MEDIUM') summary.MediumCount++;
    else if (v.severity === 'LOW') summary.LowCount++;
    else summary.UnknownCount++;
    if (severityRank(v.severity) > severityRank(summary.MaxSeverity)) summary.MaxSeverity = v.severity;
  }
  return summary;
}

/** Whether a vulnerability is the one `id` names (its own id or an alias, case-insensitively). */
export function isVulnerability(v: Vulnerability, id: string): boolean {
  const wanted = id.toUpperCase();
  return v.id.toUpperCase() === wanted || v.aliases.some((a) => a.toUpperCase() === wanted);
}

/**
 * The vulnerabilities of the image manifests `digests` of `repo`, merged (one entry per id, with
 * the packages of every child): undefined when the scanner is off or any of them is not scanned yet.
 */
export async function vulnerabilitiesOf(
  service: VulnerabilityService | undefined,
  repo: string,
  digests: readonly string[],
): Promise<Vulnerability[] | undefined> {
  if (!service?.enabled) return undefined;
  return mergeScans(await Promise.all(digests.map((d) => service.scanOf(repo, d))));
}

/** The scans of an image's manifests as one list (one entry per id); undefined unless all are done. */
export function mergeScans(scans: readonly (ImageScan | undefined)[]): Vulnerability[] | undefined {
  if (scans.length === 0 || scans.some((s) => s === undefined)) return undefined;
  const byId = new Map<string, Vulnerability>();
  for (const scan of scans) {
    for (const v of scan!.vulnerabilities) {
      const seen = byId.get(v.id);
      if (!seen) byId.set(v.id, { ...v, packages: [...v.packages] });
      else seen.packages.push(...v.packages.filter((p) => !seen.packages.some((q) => samePackage(p, q))));
    }
  }
  return [...byId.values()];
}

function samePackage(a: Vulnerability['packages'][number], b: Vulnerability['packages'][number]): boolean {
  return a.name === b.name && a.installedVersion === b.installedVersion && a.path === b.path;
}

export interface CveFilter {
  searchedCVE?: string | null;
  excludedCVE?: string | null;
  severity?: string | null;
}

/** zot's CVE list filters: a search term in the id or title, an excluded term, one severity. */
export function filterCves(list: Vulnerability[], filter: CveFilter): Vulnerability[] {
  const searched = filter.searchedCVE?.trim().toLowerCase() ?? '';
  const excluded = filter.excludedCVE?.trim().toLowerCase() ?? '';
  const severity = filter.severity?.trim().toUpperCase() ?? '';
  return list.filter((v) => {
    const text = `${v.id}\n${v.title}`.toLowerCase();
    if (searched !== '' && !text.includes(searched)) return false;
    if (excluded !== '' && text.includes(excluded)) return false;
    if (severity !== '' && v.severity !== severity) return false;
    return true;
  });
}

/** zot's default CVE order: most severe first, then by id. */
export function sortCves(list: Vulnerability[], sortBy: string | undefined): Vulnerability[] {
  const byId = (a: Vulnerability, b: Vulnerability): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (sortBy === 'ALPHABETIC_ASC') return [...list].sort(byId);
  if (sortBy === 'ALPHABETIC_DSC') return [...list].sort((a, b) => byId(b, a));
  return [...list].sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || byId(a, b));
}

/** A vulnerability in zot's `CVE` shape. */
export function cveOf(v: Vulnerability): Record<string, unknown> {
  return {
    Id: v.id,
    Title: v.title,
    Description: v.description,
    Reference: v.reference,
    Severity: v.severity,
    PackageList: v.packages.map((p) => ({
      Name: p.name,
      PackagePath: p.path ?? null,
      InstalledVersion: p.installedVersion,
      FixedVersion: p.fixedVersion ?? 'Not Specified',
    })),
  };
}
