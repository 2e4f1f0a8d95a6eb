import { randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../../meta/database.js';

export interface SigningKey {
  readonly id: string;
  readonly secret: Uint8Array;
}

/**
 * The HMAC secret that signs registry bearer tokens: created at first start and kept in the
 * database, so tokens issued before a restart stay valid after it. Returns the newest key.
 */
export function loadSigningKey(db: Db, now: Date): SigningKey {
  const row = db
    .prepare('SELECT id, secret FROM auth_signing_keys ORDER BY created_at DESC, id LIMIT 1')
    .get() as { id: string; secret: Buffer } | undefined;
  if (row !== undefined) return { id: row.id, secret: new Uint8Array(row.secret) };
  const key = { id: randomUUID(), secret: randomBytes(32) };
  db.prepare('INSERT INTO auth_signing_keys (id, secret, created_at) VALUES (?, ?, ?)').run(
    key.id,
    key.secret,
    now.getTime(),
  );
  return { id: key.id, secret: new Uint8Array(key.secret) };
}
