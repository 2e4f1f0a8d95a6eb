/**
 * Which action a manifest `PUT` needs. zot decides by tag existence alone (`update` whenever the tag
 * exists); Berth compares digests, so that re-pushing the identical manifest to an existing tag (a CI
 * re-run) needs only `create`, while moving a tag to different content needs `update`. `latest` gets no
 * exemption. See docs/zot-compatibility.md.
 */
import type { Action } from './actions.js';

/** What a manifest `PUT` names, as seen before the write. */
export type ManifestWriteTarget =
  /** `PUT /v2/<name>/manifests/<digest>`: stores content, moves no tag. */
  | { readonly kind: 'digest' }
  /** `PUT /v2/<name>/manifests/<tag>`, or a tag given with a push by digest. */
  | {
      readonly kind: 'tag';
      /** The digest the tag points at now; undefined when the tag (or the repository) does not exist. */
      readonly currentDigest: string | undefined;
    };

/**
 * The action one manifest write needs: `update` only when an existing tag would move to a different
 * digest, `create` otherwise (a new tag, a push by digest, or the identical digest re-pushed).
 * Digests compare as exact strings; both come from Berth's own canonical `algorithm:hex` form.
 */
export function manifestWriteAction(target: ManifestWriteTarget, newDigest: string): Action {
  if (target.kind === 'tag' && target.currentDigest !== undefined && target.currentDigest !== newDigest) {
    return 'update';
  }
  return 'create';
}

/**
 * The actions a write naming several targets needs (a push by digest with `?tag=` parameters, as zot
 * HEAD accepts): the digest itself needs `create`, each tag what `manifestWriteAction` says. The
 * caller must be allowed every returned action. Never empty.
 */
export function manifestWriteActions(
  targets: readonly ManifestWriteTarget[],
  newDigest: string,
): ReadonlySet<Action> {
  const actions = new Set<Action>(['create']);
  for (const target of targets) actions.add(manifestWriteAction(target, newDigest));
  return actions;
}
