/**
 * What the web UI shows of vulnerability scanning: per image (an index: its platforms together),
 * the vulnerabilities with package, installed and fixed versions, and counts by severity for the
 * repository list. Read from the stored scans (`src/meta/cve-scans.ts`), whichever process made
 * them; an image not scanned yet reads as `scanned: false`.
 */
import type { CveScanStore, SeverityCounts } from '../meta/cve-scans.js';
import { isIndexMediaType } from '../oci/media-types.js';
import type { Registry } from '../registry/registry.js';
import type { Inventory } from '../search/cve/inventory/index.js';
import type { Vulnerability } from '../search/cve/types.js';

const ORDER = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN', 'NONE'];

export interface ImageVulnerabilities {
  scanned: boolean;
  scannedAt: string | null;
  dataVersion: string | null;
  counts: SeverityCounts;
  vulnerabilities: Vulnerability[];
}

const ZERO: SeverityCounts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };

function countsOf(list: Vulnerability[]): SeverityCounts {
  const counts = { ...ZERO };
  for (const v of list) {
    const key = v.severity.toLowerCase() as keyof SeverityCounts;
    if (key in counts) counts[key]++;
    else counts.unknown++;
  }
  return counts;
}

export class UiVulnerabilities {
  constructor(
    private readonly store: CveScanStore<Inventory, Vulnerability>,
    private readonly registry: Registry,
  ) {}

  /** The image manifests a manifest stands for: itself, or an index's children in the repository. */
  private async imageDigests(repo: string, digest: string): Promise<string[]> {
    const record = await this.registry.index.manifest(repo, digest);
    if (!record) return [];
    if (!isIndexMediaType(record.mediaType)) return [digest];
    const images: string[] = [];
    for (const ref of record.references) {
      const child = await this.registry.index.manifest(repo, ref);
      if (child !== undefined && !isIndexMediaType(child.mediaType)) images.push(ref);
    }
    return images;
  }

  async forImage(repo: string, digest: string): Promise<ImageVulnerabilities> {
    const digests = await this.imageDigests(repo, digest);
    const scans = await Promise.all(digests.map((d) => this.store.scan(d)));
    if (scans.length === 0 || scans.some((s) => s === undefined)) {
      return { scanned: false, scannedAt: null, dataVersion: null, counts: { ...ZERO }, vulnerabilities: [] };
    }
    const byId = new Map<string, Vulnerability>();
    for (const scan of scans) {
      for (const v of scan!.vulnerabilities) {
        const seen = byId.get(v.id);
        if (!seen) byId.set(v.id, { ...v, packages: [...v.packages] });
        else seen.packages.push(...v.packages);
      }
    }
    const vulnerabilities = [...byId.values()].sort(
      (a, b) =>
        ORDER.indexOf(a.severity) - ORDER.indexOf(b.severity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    const oldest = Math.min(...scans.map((s) => s!.scannedAt));
    return {
      scanned: true,
      scannedAt: new Date(oldest).toISOString(),
      dataVersion: scans[0]!.dataVersion,
      counts: countsOf(vulnerabilities),
      vulnerabilities,
    };
  }

  /** Counts by severity for a manifest, or null when not scanned yet. */
  async countsFor(repo: string, digest: string): Promise<SeverityCounts | null> {
    const digests = await this.imageDigests(repo, digest);
    if (digests.length === 1) return (await this.store.counts(digests[0]!))?.counts ?? null;
    const image = await this.forImage(repo, digest);
    return image.scanned ? image.counts : null;
  }
}
