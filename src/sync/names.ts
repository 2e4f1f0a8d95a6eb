/**
 * Name mapping between local repositories and upstream ones, per `content` rule, as zot's
 * `ContentManager` does it (zot-behavior §5.3):
 *
 * - the local pattern of a rule is `destination/prefix` (with `stripPrefix`, only the glob part of
 *   the prefix is kept), matched as a doublestar glob against the whole local name;
 * - the upstream name is the local name minus the destination (re-adding the literal part of the
 *   prefix with `stripPrefix`);
 * - periodic sync goes the other way: an upstream name matching `prefix` lands under `destination`.
 *
 * Docker Hub is special on the wire only: single-segment names are official images under
 * `library/`, and its several host names all mean `registry-1.docker.io`.
 */
import { compileRepositoryPattern, escapeGlob } from '../auth/authz/index.js';
import type { SyncContentConfig } from '../config/index.js';

/** Host names that all mean Docker Hub (regclient aliases them the same way). */
export const DOCKER_HUB_HOSTS: ReadonlySet<string> = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
]);
/** The host that actually serves Docker Hub's registry API. */
export const DOCKER_HUB_REGISTRY_HOST = 'registry-1.docker.io';

const trim = (text: string, chars: string): string => {
  let start = 0;
  let end = text.length;
  while (start < end && chars.includes(text[start] as string)) start++;
  while (end > start && chars.includes(text[end - 1] as string)) end--;
  return text.slice(start, end);
};

const GLOB_META = /[*?[{\\]/;

/**
 * doublestar's `SplitPattern`: the literal folders before the first segment holding a glob
 * character, and the rest. `library/*` → `["library", "*"]`; `**` → `[".", "**"]`.
 */
export function splitPattern(pattern: string): [base: string, rest: string] {
  const meta = pattern.search(GLOB_META);
  const literalEnd = meta === -1 ? pattern.length : meta;
  const slash = pattern.lastIndexOf('/', literalEnd - 1);
  if (slash === -1) return ['.', pattern];
  return [pattern.slice(0, slash), pattern.slice(slash + 1)];
}

/** One `content` entry, compiled for matching in both directions. */
export class ContentRule {
  readonly prefix: string;
  readonly destination: string;
  readonly stripPrefix: boolean;
  readonly tags: SyncContentConfig['tags'];
  private readonly matchesLocalName: (repo: string) => boolean;
  private readonly matchesUpstreamName: (repo: string) => boolean;
  /** The prefix without its surrounding `/` and `*` characters: what stripPrefix removes. */
  private readonly literalPrefix: string;

  constructor(content: SyncContentConfig) {
    this.prefix = content.prefix;
    this.destination = trim(content.destination ?? '', '/');
    this.stripPrefix = content.stripPrefix;
    this.tags = content.tags;
    this.literalPrefix = trim(content.prefix, '/*');
    // The trailing "/" makes SplitPattern keep a literal last segment on the literal side.
    const prefix = trim(content.prefix, '/') + '/';
    const localTail = content.stripPrefix ? splitPattern(prefix)[1] : prefix;
    // The destination is a path, not a glob (zot joins it literally): escaped, so that a `[` in it
    // cannot make the composed pattern invalid and stop serve at start.
    this.matchesLocalName = compileRepositoryPattern(
      trim(`${escapeGlob(this.destination)}/${localTail}`, '/'),
    );
    this.matchesUpstreamName = compileRepositoryPattern(
      content.prefix.startsWith('/') ? content.prefix.slice(1) : content.prefix,
    );
  }

  /** The upstream repository for a local one, or undefined when this rule does not cover it. */
  localToUpstream(localRepo: string): string | undefined {
    const local = trim(localRepo, '/');
    if (!this.matchesLocalName(local)) return undefined;
    let rest = local.startsWith(this.destination) ? local.slice(this.destination.length) : local;
    rest = trim(rest, '/');
    const upstream = trim(this.stripPrefix ? `${this.literalPrefix}/${rest}` : rest, '/');
    return upstream === '' ? undefined : upstream;
  }

  /** Whether periodic sync takes an upstream repository (its name matches `prefix`). */
  coversUpstream(upstreamRepo: string): boolean {
    return this.matchesUpstreamName(upstreamRepo);
  }

  /** Where periodic sync stores an upstream repository. */
  upstreamToLocal(upstreamRepo: string): string {
    let remote = trim(upstreamRepo, '/');
    if (this.stripPrefix)
      remote = trim(
        remote.startsWith(this.literalPrefix) ? remote.slice(this.literalPrefix.length) : remote,
        '/',
      );
    return trim(`${this.destination}/${remote}`, '/');
  }
}

/** Whether an upstream URL points at Docker Hub. */
export function isDockerHub(url: URL): boolean {
  return DOCKER_HUB_HOSTS.has(url.hostname.toLowerCase());
}

/** The name Docker Hub knows a repository by: official images live under `library/`. */
export function dockerHubName(repo: string): string {
  return repo.includes('/') ? repo : `library/${repo}`;
}
