/**
 * zot's API-key routes on `/zot/auth/apikey`: `POST` creates a key (the secret appears in that
 * answer only), `GET` lists the caller's keys, `DELETE ?id=<uuid>` revokes one. Same JSON as zot.
 *
 * Differences from zot (docs/zot-compatibility.md): an anonymous caller gets 401 (zot: 500); a
 * caller authenticated by an API key or a registry token gets 403, so that a leaked key cannot
 * mint itself successors that outlive its revocation or expiry.
 */
import { isAnonymous } from '../../auth/identity.js';
import type { ApiKeyRecord } from '../../auth/store/api-keys.js';
import { RegistryError } from '../../oci/errors.js';
import type { BerthAccessGuard } from '../access.js';
import { readSmallBody } from '../body.js';
import type { RequestContext } from '../context.js';
import { sendEmpty, sendJson } from '../respond.js';
import type { PlainRoute } from '../server.js';
import { clientAddress } from './request-info.js';

const PATH = '/zot/auth/apikey';
/** zot HEAD's limit on the request body. */
const MAX_BODY_BYTES = 8 * 1024;
/** What zot prints for "never" (Go's zero time) in `expirationDate` and `lastUsed`. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
const MAX_LABEL_LENGTH = 200;
/** RFC 3339: date, time, optional fraction, and a zone (`Z` or an offset). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function describeKey(key: ApiKeyRecord, now: Date): Record<string, unknown> {
  return {
    createdAt: key.createdAt.toISOString(),
    expirationDate: key.expiresAt?.toISOString() ?? ZERO_TIME,
    isExpired: key.expiresAt !== undefined && now.getTime() > key.expiresAt.getTime(),
    creatorUa: key.creatorUa,
    generatedBy: 'manual',
    lastUsed: key.lastUsedAt?.toISOString() ?? ZERO_TIME,
    label: key.label,
    scopes: key.scopes,
    uuid: key.id,
  };
}

function badRequest(message: string): RegistryError {
  return new RegistryError('BAD_REQUEST', message);
}

interface CreateRequest {
  label: string;
  scopes: string[] | null;
  expiresAt: Date | undefined;
}

function parseCreateRequest(body: Buffer, now: Date): CreateRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('the body must be JSON: {"label": "...", "expirationDate": "<RFC 3339>"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw badRequest('the body must be a JSON object');
  const { label, scopes, expirationDate } = parsed as Record<string, unknown>;
  if (label !== undefined && label !== null && typeof label !== 'string')
    throw badRequest('label must be a string');
  if ((label ?? '').length > MAX_LABEL_LENGTH)
    throw badRequest(`label must be at most ${MAX_LABEL_LENGTH} characters`);
  if (
    scopes !== undefined &&
    scopes !== null &&
    !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string'))
  ) {
    throw badRequest('scopes must be a list of strings');
  }
  let expiresAt: Date | undefined;
  if (expirationDate !== undefined && expirationDate !== null && expirationDate !== '') {
    if (
      typeof expirationDate !== 'string' ||
      !RFC3339.test(expirationDate) ||
      Number.isNaN(Date.parse(expirationDate))
    ) {
      throw badRequest('expirationDate must be an RFC 3339 date-time, e.g. 2026-12-31T23:59:59Z');
    }
    expiresAt = new Date(expirationDate);
    if (expiresAt.getTime() <= now.getTime()) throw badRequest('expirationDate is in the past');
  }
  return {
    label: label ?? '',
    scopes: Array.isArray(scopes) && scopes.length > 0 ? scopes : null,
    expiresAt,
  };
}

export function apiKeyRoutes(guard: BerthAccessGuard): PlainRoute {
  const { services } = guard;

  const handle = async (ctx: RequestContext): Promise<void> => {
    ctx.route = 'apikey';
    const store = services.apiKeys;
    if (store === undefined) throw new RegistryError('NOT_FOUND', 'API keys are not enabled');
    const identity = await guard.authenticate(ctx, { anonymous: 'allow' });
    ctx.identity = identity;
    if (isAnonymous(identity)) throw new RegistryError('UNAUTHORIZED', 'sign in to manage API keys');
    if (identity.method === 'apikey' || identity.method === 'token') {
      throw new RegistryError(
        'DENIED',
        'API keys are managed after signing in with a password or through the browser, not with an API key',
      );
    }
    const now = services.now();
    const owner = identity.username;
    switch (ctx.req.method) {
      case 'GET':
      case 'HEAD':
        sendJson(
          ctx,
          200,
          { apiKeys: (await store.listByOwner(owner)).map((k) => describeKey(k, now)) },
          { 'Cache-Control': 'no-store' },
        );
        return;
      case 'POST': {
        const request = parseCreateRequest(await readSmallBody(ctx.req, MAX_BODY_BYTES), now);
        const userAgent = ctx.req.headers['user-agent'] ?? '';
        const { record, key } = await store.create({
          owner,
          ...request,
          creatorUa: userAgent.slice(0, 500),
          now,
        });
        services.log.info({ user: owner, keyId: record.id, label: record.label }, 'API key created');
        services.audit.record({
          action: 'apikey.create',
          user: owner,
          client: clientAddress(ctx),
          requestId: ctx.id,
          detail: {
            id: record.id,
            label: record.label,
            expirationDate: record.expiresAt?.toISOString() ?? null,
          },
        });
        sendJson(ctx, 201, { ...describeKey(record, now), apiKey: key }, { 'Cache-Control': 'no-store' });
        return;
      }
      case 'DELETE': {
        const ids = ctx.url.searchParams.getAll('id');
        if (ids.length !== 1 || ids[0] === '') throw badRequest('give exactly one ?id=<uuid>');
        const id = ids[0]!;
        // As zot: 200 whether or not the caller had such a key, so ids of others' keys stay unprobed.
        if (await store.revoke(owner, id)) {
          services.log.info({ user: owner, keyId: id }, 'API key revoked');
          services.audit.record({
            action: 'apikey.revoke',
            user: owner,
            client: clientAddress(ctx),
            requestId: ctx.id,
            detail: { id },
          });
        }
        sendEmpty(ctx, 200);
        return;
      }
      default:
        throw new RegistryError('UNSUPPORTED', `${ctx.req.method} is not supported on ${PATH}`);
    }
  };

  return async (ctx) => {
    if (ctx.url.pathname !== PATH) return false;
    await handle(ctx);
    return true;
  };
}
