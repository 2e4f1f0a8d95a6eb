/**
 * What `berth migrate` has to copy for one repository, found through the registry services of
 * both stores (never their files): the source's manifests and tags from its index, each manifest's
 * blobs and children from the manifest itself, and whatever the target already holds left out.
 * A second run after an interruption therefore plans only what is still missing.
 *
 * Manifests come out children first (an index after the manifests it lists, a referrer after its
 * subject when the repository holds it), because the target checks, as on a push, that whatever
 * a manifest references is already there.
 */
import { parseDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseManifest } from '../oci/manifest.js';
import type { Registry } from '../registry/registry.js';

export interface BlobStep {
  digest: Digest;
  size: number;
}

export interface ManifestStep {
  digest: Digest;
  mediaType: string;
  /**
   * False when the source itself lacks something the manifest references (a pull-through cache
   * stores manifests before their layers): the target then takes it as the source has it.
   */
  verifyReferences: boolean;
}

export interface TagStep {
  tag: string;
  digest: Digest;
  mediaType: string;
  /** As for the manifest it points at (ManifestStep.verifyReferences). */
  verifyReferences: boolean;
  /** The digest the target's tag points at now, when it points elsewhere (the source wins). */
  replaces?: string;
}

export interface Counts {
  blobs: number;
  manifests: number;
  tags: number;
  bytes: number;
}

export interface RepositoryPlan {
  repo: string;
  /** What to copy, in order: blobs, then manifests children first, then tags. */
  blobs: BlobStep[];
  manifests: ManifestStep[];
  tags: TagStep[];
  /** What the target already holds (an earlier, interrupted run, or content pushed there). */
  present: Counts;
  /** Digests the source's manifests reference but the source does not hold. */
  missingInSource: string[];
}

interface Node {
  digest: Digest;
  mediaType: string;
  children: string[];
  subject: string | undefined;
  blobs: { digest: string; size: number }[];
}

function isUnknown(err: unknown): boolean {
  return err instanceof RegistryError && (err.code === 'BLOB_UNKNOWN' || err.code === 'MANIFEST_UNKNOWN');
}

/** Every repository of the store, in byte order. */
export async function listRepositories(registry: Registry): Promise<string[]> {
  const names: string[] = [];
  for (let after = ''; ;) {
    const page = await registry.catalog(after, 1000);
    names.push(...page);
    if (page.length < 1000) return names;
    after = page[page.length - 1]!;
  }
}

/** Reads and parses the source's manifests: those its index lists and, below them, their children. */
async function readManifests(
  source: Registry,
  repo: string,
  missing: Set<string>,
): Promise<Map<string, Node>> {
  const nodes = new Map<string, Node>();
  const queue = (await source.index.manifests(repo)).map((m) => ({
    digest: m.digest,
    mediaType: m.mediaType,
  }));
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (nodes.has(next.digest) || missing.has(next.digest)) continue;
    const digest = tryParseDigest(next.digest);
    if (!digest) {
      missing.add(next.digest);
      continue;
    }
    let bytes: Buffer;
    try {
      // A manifest is a blob of its repository: children an OCI layout's index.json does not list
      // (a layout made by another tool) are read the same way.
      bytes = await source.blobs.read(repo, digest);
    } catch (err) {
      if (!isUnknown(err)) throw err;
      missing.add(next.digest);
      continue;
    }
    const parsed = parseManifest(bytes, next.mediaType);
    nodes.set(digest.value, {
      digest,
      mediaType: parsed.mediaType,
      children: parsed.manifests.map((d) => d.digest),
      subject: parsed.subject?.digest,
      blobs: parsed.blobs.map((d) => ({ digest: d.digest, size: d.size })),
    });
    for (const child of parsed.manifests) queue.push({ digest: child.digest, mediaType: child.mediaType });
  }
  return nodes;
}

/** Children before parents, subjects before their referrers; stable in digest order otherwise. */
function childrenFirst(nodes: Map<string, Node>): Node[] {
  const ordered: Node[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (digest: string): void => {
    const node = nodes.get(digest);
    if (!node || state.has(digest)) return; // unknown, done, or a cycle (impossible with digests)
    state.set(digest, 'visiting');
    for (const child of node.children) visit(child);
    if (node.subject !== undefined) visit(node.subject);
    state.set(digest, 'done');
    ordered.push(node);
  };
  for (const digest of [...nodes.keys()].sort()) visit(digest);
  return ordered;
}

/** Whether a manifest, or any manifest below it, references something the source lacks. */
function lacksSomething(
  node: Node,
  nodes: Map<string, Node>,
  missing: Set<string>,
  seen = new Set<string>(),
): boolean {
  if (seen.has(node.digest.value)) return false;
  seen.add(node.digest.value);
  if (node.blobs.some((b) => missing.has(b.digest))) return true;
  return node.children.some((c) => {
    if (missing.has(c)) return true;
    const child = nodes.get(c);
    return child !== undefined && lacksSomething(child, nodes, missing, seen);
  });
}

export async function planRepository(
  source: Registry,
  target: Registry,
  repo: string,
): Promise<RepositoryPlan> {
  const missing = new Set<string>();
  const nodes = await readManifests(source, repo, missing);
  const plan: RepositoryPlan = {
    repo,
    blobs: [],
    manifests: [],
    tags: [],
    present: { blobs: 0, manifests: 0, tags: 0, bytes: 0 },
    missingInSource: [],
  };

  const blobs = new Map<string, number>();
  for (const node of nodes.values()) for (const b of node.blobs) blobs.set(b.digest, b.size);
  for (const [value] of [...blobs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const digest = tryParseDigest(value);
    const held = digest && (await source.blobs.stat(repo, digest));
    if (!digest || !held) {
      missing.add(value);
      continue;
    }
    const there = await target.blobs.stat(repo, digest);
    if (there && there.size === held.size) {
      plan.present.blobs++;
      plan.present.bytes += held.size;
    } else {
      plan.blobs.push({ digest, size: held.size });
    }
  }

  for (const node of childrenFirst(nodes)) {
    if (await target.manifests.resolve(repo, { kind: 'digest', digest: node.digest })) {
      plan.present.manifests++;
      continue;
    }
    plan.manifests.push({
      digest: node.digest,
      mediaType: node.mediaType,
      verifyReferences: !lacksSomething(node, nodes, missing),
    });
  }

  for (const { tag, digest } of await source.index.tags(repo)) {
    const node = nodes.get(digest);
    if (!node) continue;
    const current = await target.manifests.resolve(repo, { kind: 'tag', tag });
    if (current?.digest === digest) {
      plan.present.tags++;
      continue;
    }
    plan.tags.push({
      tag,
      digest: parseDigest(digest),
      mediaType: node.mediaType,
      verifyReferences: !lacksSomething(node, nodes, missing),
      ...(current ? { replaces: current.digest } : {}),
    });
  }
  plan.missingInSource = [...missing].sort();
  return plan;
}

export function toCopy(plan: RepositoryPlan): Counts {
  return {
    blobs: plan.blobs.length,
    manifests: plan.manifests.length,
    tags: plan.tags.length,
    bytes: plan.blobs.reduce((sum, b) => sum + b.size, 0),
  };
}
