/**
 * Service-account keys: API keys an admin creates for another user (a CI account) without signing
 * in as that user, carrying groups of the admin's choosing (`berth keys`, the admin route, the UI's
 * admin section). The key's secret is returned once; every creation and revocation is audited.
 * No HTTP here: `cli/keys.ts` and `http/ext/admin-key-routes.ts` drive it.
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { ApiKeyGroups, KeySummary } from '../meta/api-key-groups.js';
import type { ApiKeyRecord, ApiKeyStore } from './store/api-keys.js';

/** Keys expiring sooner than this are flagged (warning log line, UI mark). */
export const EXPIRY_WARNING_MS = 7 * 24 * 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;
const UNIT_MS: Readonly<Record<string, number>> = {
  h: 60 * 60 * 1000,
  d: DAY_MS,
  w: 7 * DAY_MS,
  y: 365 * DAY_MS,
};

/** `90d`, `12w`, `36h`, `1y`, or an RFC 3339 time: when a new key expires. Throws a sentence. */
export function parseExpiry(text: string, now: Date): Date {
  const relative = /^(\d+)([hdwy])$/.exec(text.trim());
  const at = relative
    ? new Date(now.getTime() + Number(relative[1]) * UNIT_MS[relative[2]!]!)
    : /^\d{4}-\d{2}-\d{2}/.test(text)
      ? new Date(text)
      : new Date(Number.NaN);
  if (Number.isNaN(at.getTime()))
    throw new Error(
      `expiry must look like 90d, 12w, 36h, 1y or 2027-03-01T00:00:00Z; got ${JSON.stringify(text)}`,
    );
  if (at.getTime() <= now.getTime()) throw new Error('expiry is in the past');
  return at;
}

/** What a user name or group must look like: no spaces or control characters, at most 200. */
const NAME = /^[^\s\p{Cc}]{1,200}$/u;

export interface NewServiceKey {
  readonly user: string;
  readonly groups: readonly string[];
  readonly label: string;
  readonly expiresAt: Date | undefined;
  /** The admin's user name, or `cli` for `berth keys`. */
  readonly createdBy: string;
  readonly creatorUa: string;
  readonly client?: string | undefined;
  readonly requestId?: string | undefined;
}

export class ServiceAccountKeys {
  readonly #keys: ApiKeyStore;
  readonly #grants: ApiKeyGroups;
  readonly #audit: AuditLog;
  readonly #now: () => Date;

  constructor(keys: ApiKeyStore, grants: ApiKeyGroups, audit: AuditLog, now: () => Date = () => new Date()) {
    this.#keys = keys;
    this.#grants = grants;
    this.#audit = audit;
    this.#now = now;
  }

  /** Creates a key for `input.user`; the secret is in the result only. Throws a sentence for bad input. */
  async create(input: NewServiceKey): Promise<{ record: ApiKeyRecord; key: string; groups: string[] }> {
    if (!NAME.test(input.user)) throw new Error('the user name must be 1-200 characters without spaces');
    const groups = [...new Set(input.groups.map((g) => g.trim()).filter((g) => g !== ''))];
    for (const group of groups)
      if (!NAME.test(group)) throw new Error(`invalid group name ${JSON.stringify(group)}`);
    if (input.label.length > 200) throw new Error('the label must be at most 200 characters');
    const now = this.#now();
    const { record, key } = await this.#keys.create({
      owner: input.user,
      label: input.label,
      scopes: null,
      creatorUa: input.creatorUa.slice(0, 500),
      expiresAt: input.expiresAt,
      now,
    });
    await this.#grants.grant(record.id, groups, input.createdBy);
    this.#audit.record({
      action: 'apikey.create',
      user: input.createdBy,
      client: input.client,
      requestId: input.requestId,
      detail: {
        id: record.id,
        owner: input.user,
        label: record.label,
        groups,
        expirationDate: record.expiresAt?.toISOString() ?? null,
        serviceAccount: true,
      },
    });
    return { record, key, groups };
  }

  list(owner?: string): Promise<KeySummary[]> {
    return this.#grants.list(owner);
  }

  /** Revokes any user's key by id; false when there is none. */
  async revoke(id: string, by: string, client?: string, requestId?: string): Promise<boolean> {
    const gone = await this.#grants.revoke(id);
    if (gone === undefined) return false;
    this.#audit.record({
      action: 'apikey.revoke',
      user: by,
      client,
      requestId,
      detail: { id, owner: gone.owner, label: gone.label, serviceAccount: true },
    });
    return true;
  }
}

/** Whether a key expires within the warning window (and has not expired yet). */
export function expiresSoon(expiresAt: Date | undefined, now: Date): boolean {
  if (expiresAt === undefined) return false;
  const left = expiresAt.getTime() - now.getTime();
  return left > 0 && left <= EXPIRY_WARNING_MS;
}
