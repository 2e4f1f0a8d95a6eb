import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { makeLayer, type Layer, type TarFile } from '../../../../test/support/fixtures.js';
import {
  apkInstalled,
  dpkgStatus,
  goBinary,
  npmLock,
  osRelease,
  pythonDistribution,
} from '../../../../test/support/package-images.js';
import { scanInventory, type InstalledPackage, type LayerSource } from './index.js';

/** Layers as streams of small chunks, as they come from storage. */
function sources(...layers: Layer[]): LayerSource[] {
  const chunks = (b: Buffer): Buffer[] =>
    Array.from({ length: Math.ceil(b.length / 16384) }, (_, i) => b.subarray(i * 16384, (i + 1) * 16384));
  return layers.map((l) => ({ mediaType: l.mediaType, open: () => Readable.from(chunks(l.bytes)) }));
}

const layer = (...files: TarFile[]): Layer => makeLayer({ files });
const brief = (p: InstalledPackage): string =>
  `${p.ecosystem} ${p.matchName ?? p.name} ${p.matchVersion ?? p.version}`;

describe('image inventory', () => {
  it('reads an Alpine image: release from os-release, packages by origin', async () => {
    const inventory = await scanInventory(
      sources(
        layer(
          osRelease('alpine', '3.19.1'),
          apkInstalled([
            { name: 'libcrypto3', version: '3.1.4-r5', origin: 'openssl' },
            { name: 'musl', version: '1.2.4_git20230717-r4' },
          ]),
        ),
      ),
    );
    assert.equal(inventory.distro, 'Alpine:v3.19');
    assert.deepEqual(inventory.packages.map(brief), [
      'Alpine:v3.19 openssl 3.1.4-r5',
      'Alpine:v3.19 musl 1.2.4_git20230717-r4',
    ]);
    assert.equal(inventory.packages[0]!.name, 'libcrypto3');
  });

  it('reads Debian status and status.d, skipping packages not installed, by source package and version', async () => {
    const inventory = await scanInventory(
      sources(
        layer(
          { name: 'etc/debian_version', content: Buffer.from('12.5\n') },
          dpkgStatus([
            { name: 'libssl3', version: '3.0.11-1~deb12u2', source: 'openssl' },
            { name: 'libc6', version: '2.36-9+deb12u4', source: 'glibc' },
            { name: 'gone', version: '1.0-1', status: 'deinstall ok config-files' },
            { name: 'libfoo1', version: '1.2-3+b1', source: 'foo (1.2-3)' },
          ]),
          dpkgStatus(
            [{ name: 'tzdata', version: '2024a-0+deb12u1', status: '' }],
            'var/lib/dpkg/status.d/tzdata',
          ),
          {
            name: 'var/lib/dpkg/status.d/tzdata.md5sums',
            content: Buffer.from('abc  usr/share/zoneinfo/UTC\n'),
          },
        ),
      ),
    );
    assert.equal(inventory.distro, 'Debian:12');
    assert.deepEqual(inventory.packages.map(brief).sort(), [
      'Debian:12 foo 1.2-3',
      'Debian:12 glibc 2.36-9+deb12u4',
      'Debian:12 openssl 3.0.11-1~deb12u2',
      'Debian:12 tzdata 2024a-0+deb12u1',
    ]);
  });

  it('applies whiteouts and opaque directories of later layers, and later files replace earlier ones', async () => {
    const base = layer(
      osRelease('alpine', '3.18.4'),
      apkInstalled([{ name: 'busybox', version: '1.36.1-r5' }]),
      npmLock('srv/app/package-lock.json', { lodash: '4.17.20' }),
      npmLock('srv/old/package-lock.json', { minimist: '1.2.5' }),
      pythonDistribution('usr/lib/python3.11/site-packages', 'Jinja2', '3.1.2'),
    );
    const upper = layer(
      { name: 'srv/.wh.old', content: Buffer.alloc(0) },
      { name: 'usr/lib/python3.11/site-packages/.wh..wh..opq', content: Buffer.alloc(0) },
      npmLock('srv/app/package-lock.json', { lodash: '4.17.21' }),
      apkInstalled([{ name: 'busybox', version: '1.36.1-r7' }]),
    );
    const inventory = await scanInventory(sources(base, upper));
    assert.deepEqual(inventory.packages.map(brief).sort(), [
      'Alpine:v3.18 busybox 1.36.1-r7',
      'npm lodash 4.17.21',
    ]);
    assert.equal(inventory.packages.find((p) => p.name === 'lodash')?.path, '/srv/app/package-lock.json');
  });

  it('reads Python distributions, npm lockfiles (not those inside node_modules) and Go build info', async () => {
    const inventory = await scanInventory(
      sources(
        layer(
          pythonDistribution('usr/local/lib/python3.12/site-packages', 'Requests', '2.31.0'),
          npmLock('app/package-lock.json', { express: '4.18.2', '@babel/core': '7.23.0' }),
          npmLock('app/node_modules/x/package-lock.json', { ignored: '1.0.0' }),
          goBinary('usr/local/bin/tool', 'go1.21.3', {
            'golang.org/x/net': 'v0.17.0',
            'github.com/pkg/errors': 'v0.9.1',
          }),
          { name: 'usr/bin/plain', content: Buffer.alloc(5000, 1), mode: 0o755 },
          // An executable that is not a binary, spanning many chunks: skipped, read to its end.
          { name: 'usr/bin/big-script', content: Buffer.alloc(1024 * 1024, 0x23), mode: 0o755 },
          { name: 'usr/local/bin/after', content: goBinary('x', 'go1.22.1', {}).content, mode: 0o755 },
        ),
      ),
    );
    assert.equal(inventory.distro, null);
    assert.deepEqual(inventory.packages.map(brief).sort(), [
      'Go github.com/pkg/errors v0.9.1',
      'Go golang.org/x/net v0.17.0',
      'Go stdlib 1.21.3',
      'Go stdlib 1.22.1',
      'PyPI Requests 2.31.0',
      'npm @babel/core 7.23.0',
      'npm express 4.18.2',
    ]);
    assert.equal(inventory.packages.find((p) => p.name === 'stdlib')?.path, '/usr/local/bin/tool');
  });

  it('fails on a corrupt layer instead of reporting an empty image', async () => {
    const bad: LayerSource = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      open: () => Readable.from([Buffer.from('not gzip')]),
    };
    await assert.rejects(scanInventory([bad]));
  });
});
