/**
 * The OCI conformance suite (test/conformance/) against three Berth replicas on S3 (Ceph RGW) and
 * PostgreSQL behind a round-robin proxy that sends each request to the next replica: every push,
 * chunk, pull, tag list, referrers query and delete of the spec, spread over the fleet. Runs the
 * suite's compiled files in a child test runner with CONFORMANCE_TARGET=replicas (helpers.ts starts
 * the fleet for each file); fails with the child's failing tests in the message.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../support/clients.js';
import { PROJECT_ROOT } from '../support/server.js';
import { postgresService, s3Service } from '../support/services.js';

const s3 = s3Service();
const postgres = postgresService();
const skip = s3.skip ?? postgres.skip;

describe('OCI conformance against three replicas behind a round-robin proxy', { skip }, () => {
  it('passes the whole suite', { timeout: 900_000 }, async () => {
    const dir = path.join(PROJECT_ROOT, 'dist/test/conformance');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.test.js'))
      .map((f) => path.join(dir, f));
    assert.ok(files.length >= 10, `conformance files found: ${files.length}`);
    // Set by the runner running this file: the child would report to it instead of running its own.
    delete process.env.NODE_TEST_CONTEXT;
    const result = await run(process.execPath, ['--test', '--test-reporter=tap', ...files], {
      timeoutMs: 880_000,
      env: {
        CONFORMANCE_TARGET: 'replicas',
        // The engines this process found or started, for the child's fleets.
        BERTH_TEST_S3_ENDPOINT: s3.service!.endpoint,
        BERTH_TEST_S3_ACCESS_KEY: s3.service!.accessKey,
        BERTH_TEST_S3_SECRET_KEY: s3.service!.secretKey,
        BERTH_TEST_S3_REGION: s3.service!.region,
        BERTH_TEST_POSTGRES_URL: postgres.service!,
      },
    });
    const failing = result.stdout
      .split('\n')
      .filter((line) => /^\s*not ok /.test(line))
      .join('\n');
    assert.equal(
      result.code,
      0,
      `conformance on replicas failed:\n${failing}\n${result.stderr.slice(-4000)}`,
    );
    const passed = /^# pass (\d+)/m.exec(result.stdout);
    assert.ok(passed && Number(passed[1]) > 200, `tests passed: ${passed?.[1]}`);
  });
});
