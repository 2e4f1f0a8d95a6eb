import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from './load.js';
import { changesNeedingRestart } from './reload.js';

const load = (raw: Record<string, unknown>) =>
  parseConfig({ storage: { rootDirectory: '/srv/registry' }, ...raw }, { baseDir: '/etc/berth' }).config;

describe('what a reload leaves for a restart', () => {
  it('names nothing when only reloadable keys changed', () => {
    const before = load({
      http: { auth: { htpasswd: { path: '/a' } }, accessControl: { repositories: {} } },
    });
    const after = load({
      http: {
        auth: { htpasswd: { path: '/b' }, apikey: true },
        accessControl: { repositories: { '**': { anonymousPolicy: ['read'] } } },
      },
    });
    assert.deepEqual(changesNeedingRestart(before, after), []);
  });

  it('names the keys that need a restart, and turning TLS on', () => {
    const before = load({ http: { port: '5000' } });
    const after = load({
      http: { port: '5001', tls: { cert: '/c', key: '/k' } },
      storage: { rootDirectory: '/srv/other' },
    });
    assert.deepEqual(changesNeedingRestart(before, after).sort(), ['http.port', 'http.tls', 'storage']);
  });
});
