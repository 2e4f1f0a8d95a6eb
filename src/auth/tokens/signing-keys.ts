/**
 * The HMAC secrets that sign registry bearer tokens. They are kept OUT of the metadata database
 * (a backup of the database must not let anyone mint admin tokens): in a key file, mode 0600, in
 * the data directory's `_berth/` folder, or in the environment (`BERTH_TOKEN_SECRET`, plus
 * `BERTH_TOKEN_SECRET_PREVIOUS` while rotating), which then wins over the file.
 *
 * The file holds the current key first and the previous ones after it: tokens are signed with the
 * current key and verified with any of them, so a rotation (`rotateSigningKeyFile`, the
 * `berth rotate-token-key` command) logs nobody out; tokens signed with the oldest key expire
 * within their short lifetime anyway.
 *
 * Two processes starting at once on an empty directory must end up with ONE key: the file is
 * created by writing a temporary file and hard-linking it into place, which fails for the second
 * process (EEXIST); that process then reads the winner's file.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface SigningKey {
  readonly id: string;
  readonly secret: Uint8Array;
}

/** Current key first; the others are still accepted for verification. */
export interface SigningKeys {
  readonly current: SigningKey;
  readonly previous: readonly SigningKey[];
}

/** The key file's name in the data directory's `_berth/` folder. */
export const SIGNING_KEY_FILE = 'token-signing-keys.json';
/** How many keys a rotation keeps: the new one and the one before it. */
const KEEP = 2;
const MIN_SECRET_BYTES = 32;

interface KeyFile {
  keys: { id: string; secret: string; createdAt: string }[];
}

function newKey(): KeyFile['keys'][number] {
  return {
    id: randomUUID(),
    secret: randomBytes(32).toString('base64url'),
    createdAt: new Date().toISOString(),
  };
}

function parse(text: string, file: string): SigningKeys {
  const parsed = JSON.parse(text) as Partial<KeyFile>;
  const keys = (parsed.keys ?? []).filter(
    (k) =>
      typeof k?.id === 'string' &&
      typeof k.secret === 'string' &&
      Buffer.from(k.secret, 'base64url').length >= MIN_SECRET_BYTES,
  );
  const [current, ...previous] = keys.map((k) => ({
    id: k.id,
    secret: new Uint8Array(Buffer.from(k.secret, 'base64url')),
  }));
  if (current === undefined) throw new Error(`${file} holds no usable token signing key`);
  return { current, previous };
}

/** Writes `content` to `file` through a 0600 temporary file: `link` creates only if absent, `rename` replaces. */
async function writePrivate(file: string, content: KeyFile, mode: 'create' | 'replace'): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (mode === 'replace') {
      await rename(tmp, file);
      return true;
    }
    await link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    if (mode === 'create') await unlink(tmp).catch(() => undefined);
  }
}

/** Keys from the environment, when `BERTH_TOKEN_SECRET` is set (at least 32 bytes). */
export function signingKeysFromEnv(env: NodeJS.ProcessEnv = process.env): SigningKeys | undefined {
  const secret = env.BERTH_TOKEN_SECRET;
  if (secret === undefined || secret === '') return undefined;
  const toKey = (value: string, name: string): SigningKey => {
    if (Buffer.byteLength(value) < MIN_SECRET_BYTES)
      throw new Error(`${name} must be at least ${MIN_SECRET_BYTES} bytes`);
    // Every process must derive the same id from the same secret (a random one would break
    // verification across processes), and a new secret must get a new id.
    return { id: `env-${fingerprint(value)}`, secret: new Uint8Array(Buffer.from(value)) };
  };
  const previous = env.BERTH_TOKEN_SECRET_PREVIOUS;
  return {
    current: toKey(secret, 'BERTH_TOKEN_SECRET'),
    previous: previous ? [toKey(previous, 'BERTH_TOKEN_SECRET_PREVIOUS')] : [],
  };
}

/** A short public id for a secret: the first 12 hex digits of SHA-256("berth-kid:" + secret). */
function fingerprint(secret: string): string {
  return createHash('sha256').update(`berth-kid:${secret}`).digest('hex').slice(0, 12);
}

/**
 * The signing keys of a data directory: from the environment when set, otherwise from
 * `<metaDir>/token-signing-keys.json`, created (once, whoever starts first) when missing.
 */
export async function loadSigningKeys(
  metaDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SigningKeys> {
  const fromEnv = signingKeysFromEnv(env);
  if (fromEnv) return fromEnv;
  const file = path.join(metaDir, SIGNING_KEY_FILE);
  try {
    return parse(await readFile(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(metaDir, { recursive: true });
  await writePrivate(file, { keys: [newKey()] }, 'create');
  return parse(await readFile(file, 'utf8'), file);
}

/** Re-reads the key file (a rotation by another process); undefined when keys come from the environment. */
export async function reloadSigningKeys(
  metaDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SigningKeys | undefined> {
  if (signingKeysFromEnv(env)) return undefined;
  const file = path.join(metaDir, SIGNING_KEY_FILE);
  return parse(await readFile(file, 'utf8'), file);
}

/** Puts a new current key in front and keeps the previous one for verification. */
export async function rotateSigningKeyFile(metaDir: string): Promise<SigningKeys> {
  const file = path.join(metaDir, SIGNING_KEY_FILE);
  await loadSigningKeys(metaDir, {});
  const existing = JSON.parse(await readFile(file, 'utf8')) as KeyFile;
  await writePrivate(file, { keys: [newKey(), ...existing.keys].slice(0, KEEP) }, 'replace');
  return parse(await readFile(file, 'utf8'), file);
}
