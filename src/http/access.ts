/**
 * How routes ask "who is this and may they?". The HTTP layer runs `authenticate` once per request
 * and `authorize` per resource; the implementation lives in `auth/`. With no authentication and no
 * access control configured, `openAccess` lets everybody do everything (zot's open mode).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { ANONYMOUS, type Identity } from '../auth/identity.js';
import type { Action } from '../auth/authz/actions.js';
import type { RequestContext } from './context.js';

export interface AccessGuard {
  /** Establishes who is calling; throws UNAUTHORIZED (401) for credentials that do not check out. */
  authenticate(ctx: RequestContext): Promise<Identity>;
  /** Throws UNAUTHORIZED (401, anonymous) or DENIED (403, known caller) when the action is not allowed. */
  authorize(ctx: RequestContext, action: Action, repo: string): void;
  /** Whether the caller may do `action` on `repo`, for filtering listings and optional features. */
  can(identity: Identity, action: Action, repo: string): boolean;
  /** Headers to add to `GET /v2/` (a challenge, even on 200, so containers/image sends credentials). */
  pingHeaders(ctx: RequestContext): OutgoingHttpHeaders;
  /** The `WWW-Authenticate` challenge every 401 carries. */
  challenge(ctx: RequestContext): OutgoingHttpHeaders;
  /** Whether `GET /v2/` must answer 401 to this caller. */
  pingRequiresAuth(ctx: RequestContext): boolean;
}

export const openAccess: AccessGuard = {
  authenticate: async () => ANONYMOUS,
  authorize: () => undefined,
  can: () => true,
  pingHeaders: () => ({}),
  challenge: () => ({}),
  pingRequiresAuth: () => false,
};
