/**
 * `berth keys create|list|revoke CONFIG`: service-account API keys without a browser. Works on the
 * configuration's metadata store directly (SQLite beside the data, or PostgreSQL under
 * `storage.remoteCache`), while the server runs or not: every replica sees a new key at its next
 * lookup, since keys are looked up in the store on each use.
 *
 *   berth keys create CONFIG --user zot-ci --groups artifact-workloads --expires 90d --label ci
 *   berth keys list CONFIG [--user NAME] [--json]
 *   berth keys revoke CONFIG ID
 *
 * `create` prints the key alone on standard output (once: only its hash is stored), the details on
 * standard error. Exit codes: 0 done, 1 no such key, 2 bad configuration or arguments.
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { AuditLog } from '../audit/audit-log.js';
import { expiresSoon, parseExpiry, ServiceAccountKeys } from '../auth/service-accounts.js';
import { ConfigError, loadConfigFile, type Config } from '../config/index.js';
import { metadataLocation } from '../config/metadata-location.js';
import type { KeySummary } from '../meta/api-key-groups.js';
import { openMetadataStore } from '../meta/open.js';

function fail(message: string, code = 2): never {
  process.stderr.write(`berth keys: ${message}\n`);
  process.exit(code);
}

async function open(
  file: string,
): Promise<{ config: Config; db: { close(): Promise<void> }; keys: ServiceAccountKeys }> {
  let config: Config;
  try {
    ({ config } = await loadConfigFile(file));
  } catch (err) {
    if (err instanceof ConfigError) fail(`${file}: ${err.message}`);
    throw err;
  }
  if (config.http.auth?.apikey !== true)
    fail('API keys are off in this configuration (http.auth.apikey, or openid): a key would not work');
  const log = pino({ level: 'warn' }, pino.destination(2));
  // The store `serve` uses (SQLite beside the data, or PostgreSQL under storage.remoteCache).
  const { meta } = await openMetadataStore(metadataLocation(config, log));
  const audit = new AuditLog(config.log.audit, log);
  return { config, db: meta, keys: new ServiceAccountKeys(meta.apiKeys, meta.apiKeyGroups, audit) };
}

function describe(key: KeySummary, now: Date): string {
  const expiry =
    key.expiresAt === undefined
      ? 'never expires'
      : key.expiresAt.getTime() <= now.getTime()
        ? `EXPIRED ${key.expiresAt.toISOString()}`
        : `expires ${key.expiresAt.toISOString()}${expiresSoon(key.expiresAt, now) ? ' (SOON)' : ''}`;
  const groups = key.groups.length > 0 ? ` groups=${key.groups.join(',')}` : '';
  const used = key.lastUsedAt === undefined ? 'never used' : `last used ${key.lastUsedAt.toISOString()}`;
  return `${key.id}  ${key.owner}  ${JSON.stringify(key.label)}${groups}  ${expiry}  ${used}`;
}

export function keysCommand(): Command {
  const keys = new Command('keys').description('service-account API keys: create, list, revoke');

  keys
    .command('create')
    .description('create an API key for a user; prints the key once')
    .argument('<config>', 'zot-format JSON configuration file')
    .requiredOption('--user <name>', 'the user the key signs in as (e.g. zot-ci)')
    .option('--groups <list>', 'comma-separated groups the key carries', '')
    .option('--expires <when>', '90d, 12w, 36h, 1y or an RFC 3339 time (default: never)')
    .option('--label <text>', 'what the key is for', '')
    .action(
      async (file: string, flags: { user: string; groups: string; expires?: string; label: string }) => {
        const { db, keys: service } = await open(file);
        try {
          let expiresAt: Date | undefined;
          try {
            expiresAt = flags.expires === undefined ? undefined : parseExpiry(flags.expires, new Date());
          } catch (err) {
            fail(`--expires: ${(err as Error).message}`);
          }
          const { record, key, groups } = await service
            .create({
              user: flags.user,
              groups: flags.groups.split(','),
              label: flags.label,
              expiresAt,
              createdBy: 'cli',
              creatorUa: 'berth keys',
            })
            .catch((err: unknown) => fail((err as Error).message));
          process.stdout.write(`${key}\n`);
          process.stderr.write(
            `created key ${record.id} for ${record.owner}` +
              `${groups.length > 0 ? ` with groups ${groups.join(', ')}` : ''}` +
              `, ${record.expiresAt === undefined ? 'never expires' : `expires ${record.expiresAt.toISOString()}`}.\n` +
              `The key is shown only this once. Use it as the password of user ${record.owner}.\n`,
          );
        } finally {
          await db.close();
        }
      },
    );

  keys
    .command('list')
    .description('list API keys (all users, or one)')
    .argument('<config>', 'zot-format JSON configuration file')
    .option('--user <name>', 'only this user’s keys')
    .option('--json', 'one JSON document')
    .action(async (file: string, flags: { user?: string; json?: boolean }) => {
      const { db, keys: service } = await open(file);
      try {
        const list = await service.list(flags.user);
        const now = new Date();
        if (flags.json) process.stdout.write(`${JSON.stringify({ apiKeys: list }, null, 2)}\n`);
        else if (list.length === 0) process.stdout.write('no API keys\n');
        else for (const key of list) process.stdout.write(`${describe(key, now)}\n`);
      } finally {
        await db.close();
      }
    });

  keys
    .command('revoke')
    .description('revoke an API key by id (any user’s)')
    .argument('<config>', 'zot-format JSON configuration file')
    .argument('<id>', 'the key id, from `berth keys list`')
    .action(async (file: string, id: string) => {
      const { db, keys: service } = await open(file);
      let revoked: boolean;
      try {
        revoked = await service.revoke(id, 'cli');
      } finally {
        await db.close();
      }
      if (!revoked) fail(`no API key with id ${id}`, 1);
      process.stderr.write(`revoked key ${id}\n`);
    });
  return keys;
}
