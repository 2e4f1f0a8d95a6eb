/**
 * `http.accessControl`: who may do what to which repository (zot-behavior §3). Every list defaults
 * to `[]` and every map to `{}` so the authorizer never has to test for absence. Repository patterns
 * and group names are map keys, lower-cased by the loader as zot does; user and group names inside
 * policies keep their case.
 */
import { z } from 'zod';

import { globProblem } from '../patterns.js';
import { map, optionalText, str, strListOrEmpty } from './scalars.js';

/** The actions zot's authorizer knows; zot silently ignores anything else (Berth warns). */
export const ACTIONS = ['read', 'create', 'update', 'delete'] as const;
export type Action = (typeof ACTIONS)[number];

const conditionSchema = z.strictObject({
  /** CEL expression ([HEAD] zot); Berth does not evaluate these yet. */
  expression: str(),
  message: optionalText(),
});

const policySchema = z.strictObject({
  users: strListOrEmpty(),
  groups: strListOrEmpty(),
  actions: strListOrEmpty(),
  conditions: z
    .array(conditionSchema)
    .optional()
    .transform((list) => list ?? []),
});

const policyGroupSchema = z.strictObject({
  policies: z
    .array(policySchema)
    .optional()
    .transform((list) => list ?? []),
  /** Actions for any authenticated user not matched by `policies`. */
  defaultPolicy: strListOrEmpty(),
  /** Actions for unauthenticated callers. */
  anonymousPolicy: strListOrEmpty(),
});

/** The `http.accessControl` section. */
export const accessControlSchema = z
  .strictObject({
    /** Repository glob → policy group; the longest matching pattern alone applies. */
    repositories: map(policyGroupSchema)
      .optional()
      .transform((repositories) => repositories ?? {}),
    /** Applies to every repository, whatever the patterns say. */
    adminPolicy: policySchema.prefault({}),
    /** Group name → members (for htpasswd/LDAP users). */
    groups: map(z.strictObject({ users: strListOrEmpty() }))
      .optional()
      .transform((groups) => groups ?? {}),
    /**
     * Who may scrape the metrics endpoint. `""` in `users` admits anonymous callers (zot as deployed
     * in Feb 2026); `anonymousPolicy: ["read"]` does too (zot HEAD). Berth honours both.
     */
    metrics: z.strictObject({ users: strListOrEmpty(), anonymousPolicy: strListOrEmpty() }).prefault({}),
  })
  .superRefine((access, ctx) => {
    for (const pattern of Object.keys(access.repositories)) {
      const why = globProblem(pattern);
      if (why !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['repositories', pattern],
          message: `invalid repository pattern: ${why}`,
        });
      }
    }
  });

export type AccessControlConfig = z.output<typeof accessControlSchema>;
export type PolicyGroup = AccessControlConfig['repositories'][string];
export type Policy = PolicyGroup['policies'][number];

/**
 * zot's `ContainsOnlyAnonymousPolicy`: true when the policies grant nothing except to anonymous
 * callers, which is the one case where access control makes sense without any authentication.
 */
export function grantsOnlyAnonymous(access: AccessControlConfig): boolean {
  if (access.adminPolicy.actions.length + access.adminPolicy.users.length > 0) return false;
  let anonymous = false;
  for (const group of Object.values(access.repositories)) {
    if (group.defaultPolicy.length > 0) return false;
    if (group.anonymousPolicy.length > 0) anonymous = true;
    if (group.policies.some((policy) => policy.actions.length + policy.users.length > 0)) return false;
  }
  if (anonymous) return true;
  // zot's ContainsOnlyMetricsAnonymousPolicy: nothing but an anonymous metrics grant.
  return (
    Object.keys(access.repositories).length === 0 &&
    Object.keys(access.groups).length === 0 &&
    access.adminPolicy.groups.length === 0 &&
    access.metrics.anonymousPolicy.includes('read')
  );
}
