import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError, parseConfig } from '../index.js';
import { s3DriverSettings } from './s3.js';

const parse = (storageDriver: Record<string, unknown>) =>
  parseConfig({ storage: { rootDirectory: '/var/lib/berth', storageDriver } }, { baseDir: '/etc/berth' });

function problems(storageDriver: Record<string, unknown>): string[] {
  try {
    parse(storageDriver);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message.split('\n');
  }
  assert.fail('expected the config to be refused');
}

describe('storage.storageDriver for s3', () => {
  it("loads zot's keys, Distribution's extras included, without a warning (S3 serves)", () => {
    const driver = {
      name: 's3',
      region: 'eu-west-1',
      regionendpoint: 'https://rgw.example.com:7480',
      bucket: 'registry',
      rootdirectory: '/berth/',
      secure: 'true',
      skipverify: false,
      accesskey: 'AKIA',
      secretkey: 'secret',
      encrypt: false,
      v4auth: true,
      chunksize: 16777216,
    };
    const { config, warnings } = parse(driver);
    assert.ok(!warnings.some((w) => w.includes('storageDriver')), warnings.join('\n'));
    assert.deepEqual(s3DriverSettings(config.storage.storageDriver!, {}), {
      region: 'eu-west-1',
      endpoint: 'https://rgw.example.com:7480',
      bucket: 'registry',
      rootDirectory: 'berth',
      forcePathStyle: true,
      secure: true,
      skipVerify: false,
      accessKey: 'AKIA',
      secretKey: 'secret',
      partSize: 16777216,
    });
  });

  it('without keys or endpoint: AWS, the default credential chain, the region from the environment', () => {
    const { config } = parse({ name: 's3', bucket: 'registry' });
    const settings = s3DriverSettings(config.storage.storageDriver!, { AWS_REGION: 'us-west-2' });
    assert.equal(settings.region, 'us-west-2');
    assert.equal(settings.endpoint, undefined);
    assert.equal(settings.forcePathStyle, false);
    assert.equal(settings.accessKey, undefined);
    assert.equal(settings.rootDirectory, '');
    assert.equal(s3DriverSettings(config.storage.storageDriver!, {}).region, 'us-east-1');
  });

  it('refuses a missing bucket, half a key pair, a bad endpoint and parts under 5 MiB, each at its key', () => {
    const lines = problems({
      name: 's3',
      regionendpoint: 'ftp://x',
      accesskey: 'AKIA',
      chunksize: 1024,
      forcepathstyle: 'maybe',
    });
    const at = (key: string) => lines.filter((line) => line.includes(`storage.storageDriver.${key}`));
    for (const key of ['bucket', 'secretkey', 'regionendpoint', 'chunksize', 'forcepathstyle']) {
      assert.equal(at(key).length, 1, `${key}: ${lines.join('\n')}`);
    }
  });
});
