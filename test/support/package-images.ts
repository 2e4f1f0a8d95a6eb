/**
 * Files of images with known package databases, generated in code: an Alpine installed database,
 * a dpkg status file, an npm lockfile, Python metadata and a Go binary with build information, in
 * the formats the real tools write.
 */
import type { TarFile } from './fixtures.js';

export function osRelease(id: string, versionId: string): TarFile {
  return {
    name: 'etc/os-release',
    content: Buffer.from(`NAME="${id}"\nID=${id}\nVERSION_ID="${versionId}"\n`),
  };
}

export function apkInstalled(packages: { name: string; version: string; origin?: string }[]): TarFile {
  const text = packages
    .map(
      (p) =>
        `C:Q1abc=\nP:${p.name}\nV:${p.version}\nA:x86_64\nS:1000\nI:4000\nT:${p.name}\n${p.origin ? `o:${p.origin}\n` : ''}`,
    )
    .join('\n');
  return { name: 'lib/apk/db/installed', content: Buffer.from(`${text}\n`) };
}

export function dpkgStatus(
  packages: { name: string; version: string; source?: string; status?: string }[],
  name = 'var/lib/dpkg/status',
): TarFile {
  const text = packages
    .map(
      (p) =>
        `Package: ${p.name}\n${p.status === '' ? '' : `Status: ${p.status ?? 'install ok installed'}\n`}Priority: optional\n` +
        `Architecture: amd64\n${p.source ? `Source: ${p.source}\n` : ''}Version: ${p.version}\nDescription: ${p.name}\n two lines\n`,
    )
    .join('\n');
  return { name, content: Buffer.from(text) };
}

export function npmLock(path: string, packages: Record<string, string>): TarFile {
  const entries: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
  for (const [name, version] of Object.entries(packages)) entries[`node_modules/${name}`] = { version };
  return {
    name: path,
    content: Buffer.from(JSON.stringify({ name: 'app', lockfileVersion: 3, packages: entries })),
  };
}

export function pythonDistribution(sitePackages: string, name: string, version: string): TarFile {
  return {
    name: `${sitePackages}/${name.toLowerCase()}-${version}.dist-info/METADATA`,
    content: Buffer.from(
      `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nSummary: x\n\nLong description\nVersion: 0\n`,
    ),
  };
}

function uvarint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** An ELF-looking executable carrying Go 1.18+ build information. */
export function goBinary(path: string, goVersion: string, deps: Record<string, string>): TarFile {
  const lines = ['path\texample.com/app', 'mod\texample.com/app\t(devel)\t'];
  for (const [mod, version] of Object.entries(deps)) lines.push(`dep\t${mod}\t${version}\th1:abc=`);
  const sentinel = Buffer.alloc(16, 0x30);
  const modinfo = Buffer.concat([sentinel, Buffer.from(`${lines.join('\n')}\n`), sentinel]);
  const header = Buffer.alloc(32);
  header.write('\xff Go buildinf:', 0, 'latin1');
  header[14] = 8;
  header[15] = 2;
  const version = Buffer.from(goVersion);
  const elf = Buffer.alloc(4096, 0);
  elf.write('\x7fELF', 0, 'latin1');
  const info = Buffer.concat([header, uvarint(version.length), version, uvarint(modinfo.length), modinfo]);
  return { name: path, content: Buffer.concat([elf, info, Buffer.alloc(4096, 0x90)]), mode: 0o755 };
}
