/**
 * API keys with their group grants as table rows, the same columns in every database: what both
 * stores read, converted in one place. Times are epoch milliseconds; groups are a JSON array.
 */
import type { KeyGrant, KeySummary } from './api-key-groups.js';

/** A key joined with its grant (LEFT JOIN: a personal key has no grant row). */
export interface KeySummaryRow {
  id: string;
  owner: string;
  label: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  groups: string | null;
  created_by: string | null;
}

export interface KeyGrantRow {
  key_id: string;
  groups: string;
  created_by: string;
}

export function keySummaryOf(row: KeySummaryRow): KeySummary {
  return {
    id: row.id,
    owner: row.owner,
    label: row.label,
    createdAt: new Date(row.created_at),
    expiresAt: row.expires_at === null ? undefined : new Date(row.expires_at),
    lastUsedAt: row.last_used_at === null ? undefined : new Date(row.last_used_at),
    groups: row.groups === null ? [] : (JSON.parse(row.groups) as string[]),
    createdBy: row.created_by ?? undefined,
  };
}

export function keyGrantOf(row: KeyGrantRow): KeyGrant {
  return { keyId: row.key_id, groups: JSON.parse(row.groups) as string[], createdBy: row.created_by };
}
