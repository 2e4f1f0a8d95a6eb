/**
 * Which repositories a viewer may see, in list order. Asking the policy about each of 10,000
 * repositories costs about 20 ms; the answer only changes when the repositories, the viewer or
 * the policy change, so it is kept per viewer until one of them does.
 */
import type { Identity } from '../auth/identity.js';
import type { AccessGuard } from '../http/access.js';
import { LruMap } from '../registry/lru.js';

/** Viewers remembered at once (each costs one array of names). */
const VIEWERS = 64;

interface Entry {
  /** The summaries' generation the list was built from. */
  generation: number;
  /** The policy it was built with (a configuration reload replaces the object). */
  policy: object;
  names: string[];
}

/** A viewer as the policy sees them; undefined when the answer must not be reused (token-scoped). */
function viewerKey(identity: Identity): string | undefined {
  if (identity.tokenAccess !== undefined) return undefined;
  return JSON.stringify([identity.method, identity.username, [...identity.groups].sort()]);
}

export class VisibleRepositories {
  private readonly cache = new LruMap<string, Entry>(VIEWERS);

  constructor(private readonly access: AccessGuard) {}

  /**
   * The names of `ordered` that `identity` may read, in the same order. `order` names the ordering
   * and `generation` the state of the summaries `ordered` came from.
   */
  filter(identity: Identity, order: string, generation: number, ordered: readonly string[]): string[] {
    const viewer = viewerKey(identity);
    const policy = this.access.policy;
    const key = viewer === undefined ? undefined : `${order}\n${viewer}`;
    const cached = key === undefined ? undefined : this.cache.get(key);
    if (cached && cached.generation === generation && cached.policy === policy) return cached.names;
    const names = ordered.filter((name) => this.access.can(identity, 'read', name));
    if (key !== undefined) this.cache.set(key, { generation, policy, names });
    return names;
  }
}
