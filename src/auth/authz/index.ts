/** Authorization: zot's `accessControl`, compiled; what each route asks of it. Pure, no I/O. */
export { ACTIONS, isAction, type Action } from './actions.js';
export type {
  AccessControlConfig,
  AccessPolicyConfig,
  RepositoryPolicyConfig,
} from './access-control-config.js';
export { compilePolicy, type Policy, type PolicyMode, type PolicyOptions } from './policy.js';
export { listable, permits, refusalOf, type Refused } from './decision.js';
export { compileRepositoryPattern, escapeGlob, repositoryPatternProblem } from './repository-pattern.js';
export { manifestWriteAction, manifestWriteActions, type ManifestWriteTarget } from './manifest-write.js';
export {
  MOUNT_SOURCE_ACTION,
  V2_ROUTE_REQUIREMENTS,
  routeRequirement,
  type HttpMethod,
  type RouteRequirement,
  type V2Route,
} from './routes.js';
