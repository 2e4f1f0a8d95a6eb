import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, RegistryError, wireCode, type ErrorCode } from '../oci/errors.js';
import { malformedRequestAnswer, statusOf } from './respond.js';

const SPEC: Record<string, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  UNKNOWN: 500,
};

describe('error code → status (the one table)', () => {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];

  it('answers the spec codes with the spec statuses', () => {
    for (const [code, status] of Object.entries(SPEC))
      assert.equal(statusOf(code as ErrorCode), status, code);
  });

  it('gives every code an error status and sends it as a spec code', () => {
    for (const code of codes) {
      const status = statusOf(code);
      assert.ok(status >= 400 && status <= 599, `${code} → ${status}`);
      assert.ok(Object.hasOwn(SPEC, wireCode(code)), `${code} goes out as ${wireCode(code)}`);
    }
  });

  it('keeps the statuses the spec and RFC 9110 ask for Berth finer cases', () => {
    const expected: Partial<Record<ErrorCode, [number, string]>> = {
      RANGE_NOT_SATISFIABLE: [416, 'BLOB_UPLOAD_INVALID'],
      UNSUPPORTED_MEDIA_TYPE: [415, 'MANIFEST_INVALID'],
      TOO_LARGE: [413, 'SIZE_INVALID'],
      TOO_MANY_TAGS: [414, 'MANIFEST_INVALID'],
      REFERENCED: [405, 'DENIED'],
      UPSTREAM_UNAVAILABLE: [502, 'UNKNOWN'],
      UPSTREAM_TIMEOUT: [504, 'UNKNOWN'],
      STORAGE_FULL: [507, 'UNKNOWN'],
      BAD_REQUEST: [400, 'UNSUPPORTED'],
      NOT_FOUND: [404, 'NAME_UNKNOWN'],
    };
    for (const [code, [status, wire]] of Object.entries(expected) as [ErrorCode, [number, string]][]) {
      assert.equal(statusOf(code), status, code);
      assert.equal(new RegistryError(code).toJSON().code, wire, code);
    }
  });
});

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
