/**
 * `/berth/admin/apikeys`: service-account keys for admins (`adminPolicy`), the HTTP face of
 * `berth keys`. `GET` lists every user's keys (`?user=` narrows), `POST {"user", "groups",
 * "label", "expires" | "expirationDate"}` creates one for another user (the secret appears in that
 * answer only), `DELETE ?id=` revokes any user's key. Like zot's own key routes, a caller signed in
 * with an API key or a token gets 403: a leaked key must not mint successors.
 */
import { isAnonymous } from '../../auth/identity.js';
import { expiresSoon, parseExpiry, ServiceAccountKeys } from '../../auth/service-accounts.js';
import type { KeySummary } from '../../meta/api-key-groups.js';
import { RegistryError } from '../../oci/errors.js';
import type { BerthAccessGuard } from '../access.js';
import { readSmallBody } from '../body.js';
import type { RequestContext } from '../context.js';
import { sendEmpty, sendJson } from '../respond.js';
import type { PlainRoute } from '../server.js';
import { clientAddress } from './request-info.js';

export const ADMIN_KEYS_PATH = '/berth/admin/apikeys';
const MAX_BODY_BYTES = 8 * 1024;

function badRequest(message: string): RegistryError {
  return new RegistryError('BAD_REQUEST', message);
}

function describeKey(key: KeySummary, now: Date): Record<string, unknown> {
  return {
    uuid: key.id,
    user: key.owner,
    label: key.label,
    groups: key.groups,
    createdBy: key.createdBy ?? key.owner,
    createdAt: key.createdAt.toISOString(),
    expirationDate: key.expiresAt?.toISOString() ?? null,
    isExpired: key.expiresAt !== undefined && key.expiresAt.getTime() <= now.getTime(),
    expiresSoon: expiresSoon(key.expiresAt, now),
    lastUsed: key.lastUsedAt?.toISOString() ?? null,
  };
}

interface CreateBody {
  user: string;
  groups: string[];
  label: string;
  expiresAt: Date | undefined;
}

function parseCreate(body: Buffer, now: Date): CreateBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest(
      'the body must be JSON: {"user": "...", "groups": ["..."], "label": "...", "expires": "90d"}',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw badRequest('the body must be a JSON object');
  const { user, groups, label, expires, expirationDate } = parsed as Record<string, unknown>;
  if (typeof user !== 'string' || user === '') throw badRequest('user is required');
  if (groups !== undefined && !(Array.isArray(groups) && groups.every((g) => typeof g === 'string')))
    throw badRequest('groups must be a list of strings');
  if (label !== undefined && typeof label !== 'string') throw badRequest('label must be a string');
  const when = expires ?? expirationDate;
  if (when !== undefined && when !== null && when !== '' && typeof when !== 'string')
    throw badRequest('expires must be a string such as 90d or an RFC 3339 time');
  let expiresAt: Date | undefined;
  if (typeof when === 'string' && when !== '') {
    try {
      expiresAt = parseExpiry(when, now);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
  }
  return { user, groups: groups ?? [], label: label ?? '', expiresAt };
}

export function adminKeyRoutes(guard: BerthAccessGuard): PlainRoute {
  const { services } = guard;

  const handle = async (ctx: RequestContext): Promise<void> => {
    ctx.route = 'admin-apikeys';
    const store = services.apiKeys;
    if (store === undefined) throw new RegistryError('NOT_FOUND', 'API keys are not enabled');
    const identity = await guard.authenticate(ctx, { anonymous: 'allow' });
    ctx.identity = identity;
    if (isAnonymous(identity)) throw new RegistryError('UNAUTHORIZED', 'sign in to manage API keys');
    if (identity.method === 'apikey' || identity.method === 'token')
      throw new RegistryError(
        'DENIED',
        'service-account keys are managed after signing in, not with an API key',
      );
    if (!services.policy.isAdmin(identity))
      throw new RegistryError('DENIED', 'only admins manage other users’ keys');
    const keys = new ServiceAccountKeys(store, services.keyGroups, services.audit, () => services.now());
    const now = services.now();
    switch (ctx.req.method) {
      case 'GET':
      case 'HEAD': {
        const user = ctx.url.searchParams.get('user') ?? undefined;
        const list = await keys.list(user === '' ? undefined : user);
        sendJson(
          ctx,
          200,
          { apiKeys: list.map((k) => describeKey(k, now)) },
          { 'Cache-Control': 'no-store' },
        );
        return;
      }
      case 'POST': {
        const body = parseCreate(await readSmallBody(ctx.req, MAX_BODY_BYTES), now);
        let created;
        try {
          created = await keys.create({
            ...body,
            createdBy: identity.username,
            creatorUa: ctx.req.headers['user-agent'] ?? '',
            client: clientAddress(ctx),
            requestId: ctx.id,
          });
        } catch (err) {
          throw badRequest((err as Error).message);
        }
        services.log.info(
          { user: identity.username, owner: body.user, keyId: created.record.id, groups: created.groups },
          'service-account API key created',
        );
        const [summary] = (await keys.list(body.user)).filter((k) => k.id === created.record.id);
        sendJson(
          ctx,
          201,
          { ...(summary ? describeKey(summary, now) : { uuid: created.record.id }), apiKey: created.key },
          { 'Cache-Control': 'no-store' },
        );
        return;
      }
      case 'DELETE': {
        const ids = ctx.url.searchParams.getAll('id');
        if (ids.length !== 1 || ids[0] === '') throw badRequest('give exactly one ?id=<uuid>');
        if (!(await keys.revoke(ids[0]!, identity.username, clientAddress(ctx), ctx.id)))
          throw new RegistryError('NOT_FOUND', 'no such API key');
        services.log.info({ user: identity.username, keyId: ids[0] }, 'API key revoked by an admin');
        sendEmpty(ctx, 200);
        return;
      }
      default:
        throw new RegistryError('UNSUPPORTED', `${ctx.req.method} is not supported on ${ADMIN_KEYS_PATH}`);
    }
  };

  return async (ctx) => {
    if (ctx.url.pathname !== ADMIN_KEYS_PATH) return false;
    await handle(ctx);
    return true;
  };
}
