import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import {
  advisory,
  osvArchive,
  startOsvServer,
  zipArchive,
  type OsvServer,
} from '../../../test/support/osv.js';
import type { InstalledPackage } from './inventory/index.js';
import { matchInventory } from './matcher.js';
import { OsvDatabase } from './osv-database.js';
import { affects, severityOf, type OsvAdvisory } from './osv-match.js';

const log = pino({ level: 'silent' });
const pkg = (ecosystem: string, name: string, version: string): InstalledPackage => ({
  ecosystem,
  name,
  version,
});

describe('OSV advisory matching', () => {
  const openssl = advisory({
    id: 'CVE-2024-0001',
    ecosystem: 'Debian:12',
    name: 'openssl',
    fixed: '3.0.13-1~deb12u1',
  });
  it('evaluates introduced/fixed ranges in the ecosystem order', () => {
    assert.deepEqual(affects(openssl as OsvAdvisory, pkg('Debian:12', 'openssl', '3.0.11-1~deb12u2')), {
      fixed: '3.0.13-1~deb12u1',
    });
    assert.equal(affects(openssl as OsvAdvisory, pkg('Debian:12', 'openssl', '3.0.13-1~deb12u1')), undefined);
    assert.equal(affects(openssl as OsvAdvisory, pkg('Debian:11', 'openssl', '1.1.1n-0+deb11u1')), undefined);
  });
  it('evaluates last_affected, several ranges and the versions list', () => {
    const a = {
      id: 'GHSA-1',
      affected: [
        {
          package: { ecosystem: 'npm', name: 'lodash' },
          ranges: [
            {
              type: 'SEMVER',
              events: [
                { introduced: '1.0.0' },
                { fixed: '1.2.0' },
                { introduced: '2.0.0' },
                { last_affected: '2.3.0' },
              ],
            },
          ],
          versions: ['0.9.0'],
        },
      ],
    } satisfies OsvAdvisory;
    const hit = (v: string): boolean => affects(a, pkg('npm', 'lodash', v)) !== undefined;
    assert.deepEqual(
      ['0.8.0', '0.9.0', '1.0.0', '1.1.9', '1.2.0', '1.9.0', '2.0.0', '2.3.0', '2.3.1'].map(hit),
      [false, true, true, true, false, false, true, true, false],
    );
  });
  it('matches Go modules with their v prefix, Ubuntu qualifiers and PyPI name spellings', () => {
    const go = advisory({
      id: 'GO-2023-1',
      ecosystem: 'Go',
      name: 'golang.org/x/net',
      fixed: '0.17.0',
      rangeType: 'SEMVER',
    });
    assert.deepEqual(affects(go as OsvAdvisory, pkg('Go', 'golang.org/x/net', 'v0.16.0')), {
      fixed: '0.17.0',
    });
    assert.equal(affects(go as OsvAdvisory, pkg('Go', 'golang.org/x/net', 'v0.17.0')), undefined);
    const ubuntu = advisory({
      id: 'UBUNTU-CVE-1',
      ecosystem: 'Ubuntu:22.04:LTS',
      name: 'curl',
      fixed: '7.81.0-1ubuntu1.15',
    });
    assert.ok(affects(ubuntu, pkg('Ubuntu:22.04', 'curl', '7.81.0-1ubuntu1.14')));
    assert.equal(affects(ubuntu as OsvAdvisory, pkg('Ubuntu:22.0', 'curl', '7.81.0-1ubuntu1.14')), undefined);
    const py = advisory({ id: 'PYSEC-1', ecosystem: 'PyPI', name: 'jinja2', fixed: '3.1.3' });
    assert.ok(affects(py, pkg('PyPI', 'Jinja2', '3.1.2')));
    assert.equal(
      affects({ ...py, withdrawn: '2024-01-01T00:00:00Z' }, pkg('PyPI', 'Jinja2', '3.1.2')),
      undefined,
    );
  });
  it("rates severity from the CVSS v3 vector first, then the advisory's own rating", () => {
    const base = { id: 'X', affected: [] };
    assert.equal(
      severityOf({
        ...base,
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
        database_specific: { severity: 'LOW' },
      }),
      'CRITICAL',
    );
    assert.equal(severityOf({ ...base, database_specific: { severity: 'MODERATE' } }), 'MEDIUM');
    assert.equal(severityOf({ ...base, severity: [{ type: 'Ubuntu', score: 'negligible' }] }), 'LOW');
    assert.equal(severityOf(base), 'UNKNOWN');
  });
});

describe('OSV database', () => {
  let server: OsvServer;
  let dir: string;
  const v1 = [
    advisory({
      id: 'CVE-2024-0001',
      ecosystem: 'Debian:12',
      name: 'openssl',
      fixed: '3.0.13-1~deb12u1',
      cvss: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H',
    }),
    advisory({
      id: 'DSA-5000-1',
      ecosystem: 'Debian:12',
      name: 'openssl',
      fixed: '3.0.13-1~deb12u1',
      aliases: ['CVE-2024-0001'],
    }),
  ];
  const v2 = [
    ...v1,
    advisory({
      id: 'CVE-2024-0002',
      ecosystem: 'Debian:12',
      name: 'glibc',
      fixed: '2.36-9+deb12u5',
      severity: 'HIGH',
    }),
  ];
  const installed = [
    pkg('Debian:12', 'openssl', '3.0.11-1~deb12u2'),
    pkg('Debian:12', 'glibc', '2.36-9+deb12u4'),
  ];

  before(async () => {
    server = await startOsvServer({ Debian: osvArchive(v1) });
    dir = await mkdtemp(path.join(tmpdir(), 'berth-osv-'));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const open = (): OsvDatabase =>
    new OsvDatabase({ dir, baseUrl: `${server.url}/`, ecosystems: ['Debian', 'npm'], log });

  it('downloads each ecosystem, keeps it on disk, and matches an inventory (one entry per vulnerability)', async () => {
    const db = open();
    await db.loadFromDisk();
    assert.equal(db.version, undefined);
    const result = await db.update();
    assert.deepEqual(result, { changed: true, failed: ['npm'] });
    assert.ok(db.version);
    const found = await matchInventory(db, installed);
    assert.deepEqual(
      found.map((v) => [v.id, v.severity, v.packages[0]!.fixedVersion]),
      [['CVE-2024-0001', 'HIGH', '3.0.13-1~deb12u1']],
    );
    await db.close();

    // A new process starts from what is on disk, before any download.
    const again = open();
    await again.loadFromDisk();
    assert.equal(again.version, db.version);
    await again.close();
  });

  it('keeps the previous data when an update fails or downloads something that is not an OSV archive', async () => {
    const db = open();
    await db.loadFromDisk();
    const before = db.version;
    server.files.set('/Debian/all.zip', 503);
    assert.deepEqual(await db.update(), { changed: false, failed: ['Debian', 'npm'] });
    server.files.set('/Debian/all.zip', Buffer.from('<html>captive portal</html>'));
    assert.deepEqual(await db.update(), { changed: false, failed: ['Debian', 'npm'] });
    server.files.set(
      '/Debian/all.zip',
      zipArchive([{ name: 'x.json', content: Buffer.from('{"not":"osv"}') }]),
    );
    assert.deepEqual(await db.update(), { changed: false, failed: ['Debian', 'npm'] });
    assert.equal(db.version, before);
    assert.equal((await matchInventory(db, installed)).length, 1);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
    );

    server.files.set('/Debian/all.zip', osvArchive(v2));
    assert.equal((await db.update()).changed, true);
    assert.notEqual(db.version, before);
    assert.deepEqual((await matchInventory(db, installed)).map((v) => v.id).sort(), [
      'CVE-2024-0001',
      'CVE-2024-0002',
    ]);
    await db.close();
  });
});
