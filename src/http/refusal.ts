/**
 * A refused request as an error that carries what its answer must say: the registry token scope a
 * 401's Bearer challenge names, its `error` parameter, or how long a 429 asks the client to wait.
 * The access guard turns it into headers when the answer goes out (`challengeHeaders`), so no
 * per-request side channel has to remember why a request failed.
 */
import type { Action } from '../auth/authz/actions.js';
import type { Refused } from '../auth/authz/decision.js';
import { scopeActionsFor } from '../auth/tokens/scope.js';
import { RegistryError } from '../oci/errors.js';

export interface Challenge {
  /** The scope a registry token needs for the request (`repository:NAME:pull,push`). */
  readonly scope?: string;
  /** RFC 6750's `error` parameter of a Bearer challenge. */
  readonly error?: 'invalid_token' | 'insufficient_scope';
  /** For a throttled caller: how long until it may try again. */
  readonly retryAfterMs?: number;
}

export class Refusal extends RegistryError {
  readonly challenge: Challenge;

  constructor(
    code: 'UNAUTHORIZED' | 'DENIED' | 'TOOMANYREQUESTS',
    message: string,
    challenge: Challenge = {},
    detail?: unknown,
  ) {
    super(code, message, detail === undefined ? {} : { detail });
    this.name = 'Refusal';
    this.challenge = challenge;
  }
}

/** The scope a token needs for `action` on `repository`, as a challenge names it. */
export function scopeFor(action: Action, repository: string): string {
  return `repository:${repository}:${scopeActionsFor(action).join(',')}`;
}

/**
 * The refusal for a decision of `refusalOf`: 401 with the scope for an anonymous caller (with
 * `insufficient_scope` when it already holds an anonymous token) and for a token that lacks the
 * scope; 403 when the policy itself forbids a known caller.
 */
export function refusalFor(
  refused: Refused,
  action: Action,
  repository: string,
  tokenBearer: boolean,
  username: string,
): Refusal {
  const scope = scopeFor(action, repository);
  switch (refused) {
    case 'authentication-required':
      return new Refusal(
        'UNAUTHORIZED',
        'authentication required',
        tokenBearer ? { scope, error: 'insufficient_scope' } : { scope },
        { description: `${action} on ${repository} needs authentication` },
      );
    case 'insufficient-scope':
      return new Refusal(
        'UNAUTHORIZED',
        'authentication required',
        { scope, error: 'insufficient_scope' },
        { description: `the token does not cover ${action} on ${repository}; request a token for ${scope}` },
      );
    case 'forbidden':
      return new Refusal(
        'DENIED',
        'requested access to the resource is denied',
        {},
        {
          description: `${username} may not ${action} ${repository}`,
        },
      );
  }
}
