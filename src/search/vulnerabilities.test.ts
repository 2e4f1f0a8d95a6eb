import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageScan, Vulnerability } from './cve/types.js';
import { filterCves, mergeScans, NOT_SCANNED, sortCves, summarize } from './vulnerabilities.js';

function vuln(
  id: string,
  severity: Vulnerability['severity'],
  title = `title of ${id}`,
  pkg = 'openssl',
): Vulnerability {
  return {
    id,
    title,
    description: '',
    severity,
    reference: null,
    aliases: [],
    packages: [{ name: pkg, installedVersion: '1.0', fixedVersion: '1.1', ecosystem: 'Alpine' }],
  };
}

function scan(digest: string, vulnerabilities: Vulnerability[]): ImageScan {
  return { manifestDigest: digest, scannedAt: new Date(0), dataVersion: '1', vulnerabilities };
}

describe('vulnerability summaries', () => {
  it("counts by severity with zot's MaxSeverity conventions", () => {
    assert.deepEqual(summarize([]), { ...NOT_SCANNED, MaxSeverity: 'NONE' });
    assert.deepEqual(
      summarize([vuln('A', 'LOW'), vuln('B', 'CRITICAL'), vuln('C', 'UNKNOWN'), vuln('D', 'HIGH')]),
      {
        MaxSeverity: 'CRITICAL',
        Count: 4,
        UnknownCount: 1,
        LowCount: 1,
        MediumCount: 0,
        HighCount: 1,
        CriticalCount: 1,
      },
    );
  });

  it("merges an index's children, each CVE once, and waits for every scan", () => {
    const a = scan('sha256:a', [vuln('CVE-1', 'HIGH')]);
    const b = scan('sha256:b', [vuln('CVE-1', 'HIGH', undefined, 'zlib'), vuln('CVE-2', 'LOW')]);
    assert.deepEqual(
      mergeScans([a, b])?.map((v) => [v.id, v.packages.map((p) => p.name)]),
      [
        ['CVE-1', ['openssl', 'zlib']],
        ['CVE-2', ['openssl']],
      ],
    );
    assert.equal(mergeScans([a, undefined]), undefined);
    assert.equal(mergeScans([]), undefined);
  });

  it("filters and sorts CVE lists as zot's UI asks", () => {
    const list = [
      vuln('CVE-3', 'LOW', 'zlib overflow'),
      vuln('CVE-1', 'CRITICAL'),
      vuln('CVE-2', 'CRITICAL', 'openssl bug'),
    ];
    assert.deepEqual(
      sortCves(list, undefined).map((v) => v.id),
      ['CVE-1', 'CVE-2', 'CVE-3'],
    );
    assert.deepEqual(
      sortCves(list, 'ALPHABETIC_DSC').map((v) => v.id),
      ['CVE-3', 'CVE-2', 'CVE-1'],
    );
    assert.deepEqual(
      filterCves(list, { searchedCVE: 'ZLIB' }).map((v) => v.id),
      ['CVE-3'],
    );
    assert.deepEqual(
      filterCves(list, { excludedCVE: 'openssl' }).map((v) => v.id),
      ['CVE-3', 'CVE-1'],
    );
    assert.deepEqual(
      filterCves(list, { severity: 'critical' }).map((v) => v.id),
      ['CVE-1', 'CVE-2'],
    );
  });
});
