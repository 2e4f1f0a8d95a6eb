/**
 * The package databases of Alpine (`lib/apk/db/installed`, apk's "installed database": one
 * `K:value` line per field, a blank line between packages) and Debian/Ubuntu
 * (`var/lib/dpkg/status` and distroless images' `status.d/*`: RFC 822-style stanzas, see
 * deb-control(5)).
 */
import type { InstalledPackage } from './package.js';

export function parseApkInstalled(text: string, ecosystem: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      if (line.length > 2 && line[1] === ':') fields.set(line[0]!, line.slice(2).trim());
    }
    const name = fields.get('P');
    const version = fields.get('V');
    if (!name || !version) continue;
    const origin = fields.get('o');
    out.push({ ecosystem, name, version, ...(origin && origin !== name ? { matchName: origin } : {}) });
  }
  return out;
}

/** Stanzas of a Debian control file, as field maps (continuation lines dropped: not needed here). */
function stanzas(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const m = /^([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    if (fields.size > 0) out.push(fields);
  }
  return out;
}

export function parseDpkgStatus(text: string, ecosystem: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const fields of stanzas(text)) {
    const name = fields.get('package');
    const version = fields.get('version');
    const status = fields.get('status');
    if (!name || !version) continue;
    // status.d files carry no Status field; in the status file only installed packages count.
    if (status !== undefined && !/\binstalled$/.test(status)) continue;
    // Security advisories are filed by source package: "Source: name" or "Source: name (version)".
    const source = /^(\S+)(?:\s+\((.+)\))?$/.exec(fields.get('source') ?? '');
    const p: InstalledPackage = { ecosystem, name, version };
    if (source && source[1] !== name) p.matchName = source[1]!;
    if (source?.[2] && source[2] !== version) p.matchVersion = source[2];
    out.push(p);
  }
  return out;
}
