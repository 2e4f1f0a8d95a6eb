/**
 * Which distribution release an image is, as OSV names its ecosystem: `Alpine:v3.19`,
 * `Debian:12`, `Ubuntu:22.04`. From `os-release` (os-release(5)) first, then the
 * distribution's own release file.
 */

function osRelease(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1]!, m[2]!.replace(/^(["'])(.*)\1$/, '$2'));
  }
  return fields;
}

export interface ReleaseFiles {
  osRelease?: string;
  alpineRelease?: string;
  debianVersion?: string;
}

/** The OSV ecosystem of the image's distribution, or undefined when it is none Berth knows. */
export function distroEcosystem(files: ReleaseFiles): string | undefined {
  const fields = osRelease(files.osRelease ?? '');
  const id = fields.get('ID')?.toLowerCase();
  const versionId = fields.get('VERSION_ID');
  if (id === 'alpine' || (id === undefined && files.alpineRelease !== undefined)) {
    const m = /^(\d+)\.(\d+)/.exec(versionId ?? files.alpineRelease?.trim() ?? '');
    return m ? `Alpine:v${m[1]}.${m[2]}` : undefined;
  }
  if (id === 'debian' || (id === undefined && files.debianVersion !== undefined)) {
    const m = /^(\d+)/.exec(versionId ?? files.debianVersion?.trim() ?? '');
    return m ? `Debian:${m[1]}` : undefined;
  }
  if (id === 'ubuntu') {
    return versionId && /^\d+\.\d+$/.test(versionId) ? `Ubuntu:${versionId}` : undefined;
  }
  return undefined;
}
