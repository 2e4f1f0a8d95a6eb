import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { defaultConfig } from './index.js';

describe('defaultConfig', () => {
  it('listens on 127.0.0.1:5000, stores under ./data, has no auth, logs at info', () => {
    const config = defaultConfig();
    assert.equal(config.http.address, '127.0.0.1');
    assert.equal(config.http.port, 5000);
    assert.equal(config.storage.rootDirectory, join(process.cwd(), 'data'));
    assert.equal(config.http.auth, undefined);
    assert.equal(config.http.accessControl, undefined);
    assert.equal(config.log.level, 'info');
    assert.equal(config.storage.dedupe, true);
    assert.equal(config.storage.gc, true);
    assert.equal(config.extensions, undefined);
  });

  it('returns a fresh object each time', () => {
    const first = defaultConfig();
    first.http.port = 1;
    assert.equal(defaultConfig().http.port, 5000);
  });
});
