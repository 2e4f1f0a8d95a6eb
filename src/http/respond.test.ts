import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { malformedRequestAnswer } from './respond.js';

function parse(raw: string): { status: number; code: string; connection: string | undefined } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const status = Number(head.slice(9, 12));
  const connection = /\r\nConnection: ([^\r]*)/.exec(head)?.[1];
  const { errors } = JSON.parse(body) as { errors: { code: string }[] };
  return { status, code: errors[0]!.code, connection };
}

describe('answers to requests the HTTP parser refused', () => {
  it('a header timeout is 408', () => {
    assert.deepEqual(parse(malformedRequestAnswer('ERR_HTTP_REQUEST_TIMEOUT')), {
      status: 408,
      code: 'UNKNOWN',
      connection: 'close',
    });
  });
  it('oversized headers are 431', () => {
    assert.deepEqual(parse(malformedRequestAnswer('HPE_HEADER_OVERFLOW')), {
      status: 431,
      code: 'UNKNOWN',
      connection: 'close',
    });
  });
  it('a truncated body is 400 SIZE_INVALID', () => {
    assert.deepEqual(parse(malformedRequestAnswer('HPE_INVALID_EOF_STATE')), {
      status: 400,
      code: 'SIZE_INVALID',
      connection: 'close',
    });
  });
});
