/**
 * Which upstream tags periodic sync mirrors: `content.tags` (`regex`, `excludeRegex`, `semver`),
 * applied in zot's order, and never the tags that only carry signatures or referrers. On-demand
 * pulls ignore these filters, as zot does: whoever asks for a tag gets it.
 */
import { compileGoRegExp, type SyncContentConfig } from '../config/index.js';

/**
 * A tag Masterminds/semver (the library zot filters with) parses: an optional `v`, one to three
 * numeric parts, an optional pre-release. Build metadata (`+…`) cannot occur in a tag.
 */
const SEMVER = /^v?\d+(?:\.\d+)?(?:\.\d+)?(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** cosign's legacy tags (`sha256-<hex>.sig|.att|.sbom`) and the referrers tag schema (`sha256-<hex>`). */
const SIGNATURE_TAG = /^sha256-[a-f0-9]{64}(?:\.(?:sig|att|sbom))?$/;

export function isSemverTag(tag: string): boolean {
  return SEMVER.test(tag);
}

export function isSignatureTag(tag: string): boolean {
  return SIGNATURE_TAG.test(tag);
}

/** Compiles a rule's tag filters into one predicate. Regexes match anywhere in the tag (unanchored). */
export function compileTagFilter(tags: SyncContentConfig['tags']): (tag: string) => boolean {
  const include = tags?.regex ? compileGoRegExp(tags.regex) : undefined;
  const exclude = tags?.excludeRegex ? compileGoRegExp(tags.excludeRegex) : undefined;
  const semver = tags?.semver === true;
  return (tag) =>
    !isSignatureTag(tag) &&
    (include === undefined || include.test(tag)) &&
    (exclude === undefined || !exclude.test(tag)) &&
    (!semver || isSemverTag(tag));
}
