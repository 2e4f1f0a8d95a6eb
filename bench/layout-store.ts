/**
 * Writes stores as OCI layouts directly, for benchmarks that need thousands of repositories or
 * tags (creating them through the API would take hours): every repository gets its folder,
 * `oci-layout`, an `index.json` and hard links to one template image's three blob files. Berth's
 * start-up reconciliation builds the metadata index from them.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { link, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The template image every repository holds: its layer, config and manifest, as pushed. */
export function templateImage(): { layer: Buffer; config: Buffer; manifest: Buffer } {
  const layer = Buffer.from('scaling benchmark layer\n');
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${sha256(config)}`,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: `sha256:${sha256(layer)}`,
          size: layer.length,
        },
      ],
    }),
  );
  return { layer, config, manifest };
}

/** The template image's blob files, written once; every repository hard-links them. */
async function writeTemplate(dir: string): Promise<{ manifest: string; files: [string, string][] }> {
  await mkdir(dir, { recursive: true });
  const { layer, config, manifest } = templateImage();
  const files: [string, string][] = [];
  for (const bytes of [manifest, config, layer]) {
    const hex = sha256(bytes);
    await writeFile(path.join(dir, hex), bytes);
    files.push([path.join(dir, hex), hex]);
  }
  return { manifest: `sha256:${sha256(manifest)}:${manifest.length}`, files };
}

/** Writes one repository's OCI layout with `tags` tags on the template manifest. */
async function writeRepository(
  root: string,
  name: string,
  template: { manifest: string; files: [string, string][] },
  tags: number,
): Promise<void> {
  const dir = path.join(root, name);
  const blobs = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  for (const [file, hex] of template.files) await link(file, path.join(blobs, hex));
  const [, hex, size] = template.manifest.split(':');
  const manifests = [];
  for (let t = 0; t < tags; t++) {
    manifests.push({
      mediaType: OCI_MANIFEST,
      digest: `sha256:${hex}`,
      size: Number(size),
      annotations: { 'org.opencontainers.image.ref.name': `t${String(t).padStart(6, '0')}` },
    });
  }
  await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
}

export function repoName(i: number): string {
  return `scale/r${String(i).padStart(6, '0')}`;
}

/** `repos` repositories (`repoName(i)`) of `tagsPerRepo` tags `t000000`… each; returns seconds taken. */
export async function buildStore(root: string, repos: number, tagsPerRepo: number): Promise<number> {
  const started = performance.now();
  const template = await writeTemplate(path.join(root, '_template'));
  const queue = Array.from({ length: repos }, (_, i) => i);
  const worker = async (): Promise<void> => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      await writeRepository(root, repoName(i), template, tagsPerRepo);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await rm(path.join(root, '_template'), { recursive: true });
  execFileSync('sync');
  return (performance.now() - started) / 1000;
}
