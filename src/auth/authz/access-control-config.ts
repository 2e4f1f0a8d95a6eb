/**
 * The shape of zot's `http.accessControl` block, as the evaluator reads it. Declared structurally
 * (every field optional, arrays read-only) so that the config schema's own inferred type is
 * assignable to it without conversion.
 */

/** One entry of a repository pattern's `policies`. */
export interface AccessPolicyConfig {
  readonly users?: readonly string[] | null | undefined;
  readonly groups?: readonly string[] | null | undefined;
  /** Unknown action strings are ignored, as in zot. */
  readonly actions?: readonly string[] | null | undefined;
  /**
   * zot HEAD's CEL conditions. Berth does not evaluate them yet, so an entry that has any grants
   * nothing (fail closed) rather than granting unconditionally.
   */
  readonly conditions?: readonly unknown[] | null | undefined;
}

/** The value under one glob pattern of `accessControl.repositories`. */
export interface RepositoryPolicyConfig {
  readonly policies?: readonly AccessPolicyConfig[] | null | undefined;
  /** Actions any authenticated caller gets on matching repositories. */
  readonly defaultPolicy?: readonly string[] | null | undefined;
  /** Actions the anonymous caller gets on matching repositories. */
  readonly anonymousPolicy?: readonly string[] | null | undefined;
}

export interface AccessControlConfig {
  /** Glob pattern (doublestar syntax, whole repository name) → policies. */
  readonly repositories?: Readonly<Record<string, RepositoryPolicyConfig>> | null | undefined;
  /** Consulted only when the matching repository policy grants nothing. */
  readonly adminPolicy?: AccessPolicyConfig | null | undefined;
  /** Config-defined group membership: group name → its users. */
  readonly groups?:
    Readonly<Record<string, { readonly users?: readonly string[] | null | undefined }>> | null | undefined;
  /** Who may scrape the metrics endpoint. */
  readonly metrics?:
    | {
        readonly users?: readonly string[] | null | undefined;
        readonly anonymousPolicy?: readonly string[] | null | undefined;
      }
    | null
    | undefined;
}
