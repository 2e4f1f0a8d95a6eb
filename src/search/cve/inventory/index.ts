/**
 * An image's package inventory: its distribution's packages (Alpine, Debian, Ubuntu) and the
 * language packages it carries (npm lockfiles, Python distributions, Go binaries).
 */
import { distroEcosystem } from './distro.js';
import { collectImageFiles, type Found, type LayerSource } from './image-files.js';
import { parseApkInstalled, parseDpkgStatus } from './os-packages.js';
import type { InstalledPackage } from './package.js';

export type { InstalledPackage } from './package.js';
export type { LayerSource } from './image-files.js';

export interface Inventory {
  /** The distribution's OSV ecosystem (`Debian:12`), when known. */
  distro: string | null;
  packages: InstalledPackage[];
}

function osText(files: Map<string, Found>, path: string): string | undefined {
  const found = files.get(path);
  return found?.kind === 'os' ? found.text : undefined;
}

export function inventoryOf(files: Map<string, Found>): Inventory {
  const distro = distroEcosystem({
    osRelease: osText(files, 'etc/os-release') ?? osText(files, 'usr/lib/os-release'),
    alpineRelease: osText(files, 'etc/alpine-release'),
    debianVersion: osText(files, 'etc/debian_version'),
  });
  const packages: InstalledPackage[] = [];
  if (distro) {
    const apk = osText(files, 'lib/apk/db/installed');
    if (apk !== undefined && distro.startsWith('Alpine:')) packages.push(...parseApkInstalled(apk, distro));
    if (!distro.startsWith('Alpine:')) {
      const status = osText(files, 'var/lib/dpkg/status');
      if (status !== undefined) packages.push(...parseDpkgStatus(status, distro));
      for (const [path, found] of files) {
        if (path.startsWith('var/lib/dpkg/status.d/') && found.kind === 'os') {
          packages.push(...parseDpkgStatus(found.text, distro));
        }
      }
    }
  }
  for (const found of files.values()) if (found.kind === 'packages') packages.push(...found.packages);
  return { distro: distro ?? null, packages };
}

export async function scanInventory(layers: LayerSource[]): Promise<Inventory> {
  return inventoryOf(await collectImageFiles(layers));
}
