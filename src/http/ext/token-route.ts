/**
 * The registry token endpoint (`GET`/`POST /zot/auth/token`), as Docker's token specification
 * describes it: clients come here after a 401 `Bearer` challenge, with Basic credentials (a
 * password, or an API key with its owner's name) or none, and the scopes they need
 * (`repository:<name>:pull,push`). The token grants the requested actions the caller may perform:
 * anonymous callers get what `anonymousPolicy` allows. `POST` takes the OAuth2 form
 * (`grant_type=password`, `username`, `password`, `scope`), which containerd tries first.
 * No refresh tokens are issued: clients come back with their credentials.
 */
import { parseAuthorization } from '../../auth/authn/basic.js';
import { ANONYMOUS, type Identity } from '../../auth/identity.js';
import { grantScopes } from '../../auth/tokens/grant.js';
import type { TokenSubject } from '../../auth/tokens/registry-tokens.js';
import { parseScopes } from '../../auth/tokens/scope.js';
import { isValidRepositoryName } from '../../oci/names.js';
import { RegistryError } from '../../oci/errors.js';
import { TOKEN_PATH, type BerthAccessGuard } from '../access.js';
import { readSmallBody } from '../body.js';
import type { RequestContext } from '../context.js';
import { sendJson } from '../respond.js';
import type { PlainRoute } from '../server.js';

const MAX_FORM_BYTES = 64 * 1024;
const ANONYMOUS_SUBJECT: TokenSubject = { username: '', groups: [], method: 'anonymous' };

async function requestParameters(ctx: RequestContext): Promise<URLSearchParams> {
  if (ctx.req.method !== 'POST') return ctx.url.searchParams;
  const type = ctx.req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new RegistryError('BAD_REQUEST', 'POST a form (application/x-www-form-urlencoded)');
  }
  return new URLSearchParams((await readSmallBody(ctx.req, MAX_FORM_BYTES)).toString('utf8'));
}

export function tokenRoute(guard: BerthAccessGuard): PlainRoute {
  const { services } = guard;

  const handle = async (ctx: RequestContext): Promise<void> => {
    ctx.route = 'token';
    const method = ctx.req.method;
    if (method !== 'GET' && method !== 'POST') throw new RegistryError('UNSUPPORTED', 'use GET or POST');
    const params = await requestParameters(ctx);
    let identity: Identity = ANONYMOUS;
    let subject = ANONYMOUS_SUBJECT;
    const header = parseAuthorization(ctx.req.headersDistinct.authorization);
    if (method === 'POST' && params.get('grant_type') !== null) {
      if (params.get('grant_type') !== 'password') {
        sendJson(ctx, 400, { error: 'unsupported_grant_type' }, { 'Cache-Control': 'no-store' });
        return;
      }
      ({ identity, subject } = await guard.verifyBasic(
        ctx,
        params.get('username') ?? '',
        params.get('password') ?? '',
      ));
    } else if (header.kind === 'basic') {
      ({ identity, subject } = await guard.verifyBasic(ctx, header.username, header.password));
    } else if (header.kind !== 'none') {
      // A token is not a credential for getting tokens: that would make one live forever.
      throw new RegistryError('UNAUTHORIZED', 'authenticate with a user name and password or API key');
    }
    ctx.identity = identity;
    const requested = parseScopes(params.getAll('scope'));
    const granted = grantScopes(
      identity,
      requested,
      (who, action, repo) => services.policy.can(who, action, repo),
      isValidRepositoryName,
    );
    const issued = await services.tokens.issue(subject, granted, services.now());
    sendJson(
      ctx,
      200,
      {
        token: issued.token,
        access_token: issued.token,
        expires_in: issued.expiresInSeconds,
        issued_at: issued.issuedAt.toISOString(),
        ...(method === 'POST'
          ? { scope: granted.map((g) => `${g.type}:${g.name}:${g.actions.join(',')}`).join(' ') }
          : {}),
      },
      { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
    );
  };

  return async (ctx) => {
    if (ctx.url.pathname !== TOKEN_PATH) return false;
    await handle(ctx);
    return true;
  };
}
