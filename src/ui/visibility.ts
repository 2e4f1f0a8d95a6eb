/**
 * Which repositories a viewer may see, in list order. Asking the policy about each of 10,000
 * repositories costs 10–20 ms, and its answer for one viewer and one repository only changes with
 * the policy; so the answers are remembered per viewer (user, groups, method) and policy, and a new
 * repository costs one question. The filtered lists are remembered too, until the list changes.
 */
import type { Identity } from '../auth/identity.js';
import type { AccessGuard } from '../http/access.js';
import { LruMap } from '../registry/lru.js';

/** Viewers remembered at once; each costs about 50 bytes per repository. */
const VIEWERS = 32;

interface Viewer {
  /** The policy the answers came from (a configuration reload replaces the object). */
  policy: object;
  /** Repository → may read. */
  decisions: Map<string, boolean>;
  /** Order → the readable names, and the summaries' generation they were filtered from. */
  lists: Map<string, { generation: number; names: string[] }>;
}

/** A viewer as the policy sees them; undefined when answers must not be reused (a token's scope). */
function viewerKey(identity: Identity): string | undefined {
  if (identity.tokenAccess !== undefined) return undefined;
  return JSON.stringify([identity.method, identity.username, [...identity.groups].sort()]);
}

export class VisibleRepositories {
  private readonly viewers = new LruMap<string, Viewer>(VIEWERS);

  constructor(private readonly access: AccessGuard) {}

  /**
   * The names of `ordered` that `identity` may read, in the same order. `order` names the ordering
   * and `generation` the state of the summaries `ordered` came from.
   */
  filter(identity: Identity, order: string, generation: number, ordered: readonly string[]): string[] {
    const key = viewerKey(identity);
    if (key === undefined) return ordered.filter((name) => this.access.can(identity, 'read', name));
    const policy = this.access.policy;
    let viewer = this.viewers.get(key);
    if (viewer?.policy !== policy) {
      viewer = { policy, decisions: new Map(), lists: new Map() };
      this.viewers.set(key, viewer);
    }
    const list = viewer.lists.get(order);
    if (list?.generation === generation) return list.names;
    const { decisions } = viewer;
    const names = ordered.filter((name) => {
      let allowed = decisions.get(name);
      if (allowed === undefined) {
        allowed = this.access.can(identity, 'read', name);
        decisions.set(name, allowed);
      }
      return allowed;
    });
    viewer.lists.set(order, { generation, names });
    return names;
  }
}
