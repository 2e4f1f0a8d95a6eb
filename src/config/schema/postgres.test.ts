import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError, parseConfig } from '../index.js';
import { postgresSettings } from './postgres.js';

const parse = (storage: Record<string, unknown>) =>
  parseConfig({ storage: { rootDirectory: '/var/lib/berth', ...storage } }, { baseDir: '/etc/berth' });

function problems(storage: Record<string, unknown>): string[] {
  try {
    parse(storage);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message.split('\n');
  }
  assert.fail('expected the config to be refused');
}

const URL = 'postgres://berth:pw@db.example.com:5432/berth';

describe('storage.remoteCache with a postgres cacheDriver', () => {
  it('selects PostgreSQL without warnings; the URL from the block or from BERTH_POSTGRES_URL', () => {
    const { config, warnings } = parse({
      remoteCache: true,
      cacheDriver: { name: 'postgres', url: URL, schema: 'berth', maxconnections: 20 },
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(postgresSettings(config.storage, {}), { url: URL, schema: 'berth', maxConnections: 20 });

    const fromEnv = parse({ remoteCache: true, cacheDriver: { name: 'postgres' } }).config;
    assert.deepEqual(postgresSettings(fromEnv.storage, { BERTH_POSTGRES_URL: URL }), {
      url: URL,
      schema: undefined,
      maxConnections: undefined,
    });
    assert.throws(
      () => postgresSettings(fromEnv.storage, {}),
      /storage\.cacheDriver\.url: absent, and BERTH_POSTGRES_URL/,
    );
  });

  it("keeps SQLite, with a warning, when remoteCache is off or the driver is one of zot's", () => {
    const off = parse({ remoteCache: false, cacheDriver: { name: 'postgres', url: URL } });
    assert.equal(postgresSettings(off.config.storage, {}), undefined);
    assert.ok(
      off.warnings.some((w) => /storage\.cacheDriver: set while storage\.remoteCache is false/.test(w)),
      off.warnings.join('\n'),
    );

    const dynamo = parse({
      remoteCache: true,
      cacheDriver: { name: 'dynamodb', endpoint: 'http://localhost:4566', region: 'us-east-2' },
    });
    assert.equal(postgresSettings(dynamo.config.storage, {}), undefined);
    assert.ok(
      dynamo.warnings.some((w) => /storage\.cacheDriver\.name: "dynamodb" is not implemented/.test(w)),
      dynamo.warnings.join('\n'),
    );

    const bare = parse({ remoteCache: true });
    assert.ok(
      bare.warnings.some((w) => /storage\.remoteCache: true without a "postgres" cacheDriver/.test(w)),
      bare.warnings.join('\n'),
    );
    assert.deepEqual(parse({}).warnings, [], 'nothing said when neither key is given');
  });

  it('refuses a malformed postgres block, key by key', () => {
    const found = problems({
      remoteCache: true,
      cacheDriver: { name: 'postgres', url: 'mysql://x', schema: 'Bad-Name', maxconnections: 0, passwd: 'x' },
    });
    const text = found.join('\n');
    assert.match(text, /storage\.cacheDriver\.url: expected postgres:\/\/user:password@host:5432\/database/);
    assert.match(text, /storage\.cacheDriver\.schema: expected lowercase letters/);
    assert.match(text, /storage\.cacheDriver\.maxconnections/);
    assert.match(text, /passwd/);
  });
});
