import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { humanLine, wantsHumanLogs } from './human-log.js';

describe('human-readable logs', () => {
  it('turns a JSON line into time, level, message and fields', () => {
    const line = humanLine(
      JSON.stringify({
        level: 40,
        time: '2026-12-04T18:03:31.123Z',
        pid: 7,
        msg: 'configuration refused',
        key: 'http.port',
        err: { message: 'bad' },
      }),
      false,
    );
    assert.equal(line, '18:03:31 WARN  configuration refused  key=http.port err="bad"\n');
  });

  it('passes a line that is not JSON through unchanged', () => {
    assert.equal(humanLine('plain text', false), 'plain text\n');
  });

  it('is chosen for a terminal, and BERTH_LOG_FORMAT overrides', () => {
    assert.equal(wantsHumanLogs({}, true), true);
    assert.equal(wantsHumanLogs({}, false), false);
    assert.equal(wantsHumanLogs({ BERTH_LOG_FORMAT: 'json' }, true), false);
    assert.equal(wantsHumanLogs({ BERTH_LOG_FORMAT: 'pretty' }, false), true);
  });
});
