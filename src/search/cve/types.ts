/** The contract between vulnerability scanning (src/search/cve) and the search API that shows it. */
export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'UNKNOWN' | 'NONE';
export interface AffectedPackage {
  name: string;
  installedVersion: string;
  fixedVersion: string | null;
  ecosystem: string;
  path?: string;
}
export interface Vulnerability {
  id: string;
  title: string;
  description: string;
  severity: Severity;
  reference: string | null;
  aliases: string[];
  packages: AffectedPackage[];
}
export interface ImageScan {
  manifestDigest: string;
  scannedAt: Date;
  dataVersion: string;
  vulnerabilities: Vulnerability[];
}
export interface VulnerabilityService {
  readonly enabled: boolean;
  /** The scan of one image manifest, or undefined when not scanned yet (a scan is queued). */
  scanOf(repo: string, manifestDigest: string): Promise<ImageScan | undefined>;
}
