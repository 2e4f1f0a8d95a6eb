import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constantTimeEqual } from './constant-time.js';

describe('constantTimeEqual', () => {
  it('is true for equal strings, empty ones included', () => {
    assert.equal(constantTimeEqual('s3cret', 's3cret'), true);
    assert.equal(constantTimeEqual('', ''), true);
  });

  it('is false for different strings, also of different lengths, without throwing', () => {
    assert.equal(constantTimeEqual('s3cret', 's3creT'), false);
    assert.equal(constantTimeEqual('s3cret', 's3cret!'), false);
    assert.equal(constantTimeEqual('', 'x'), false);
  });

  it('compares Unicode text by its UTF-8 bytes', () => {
    assert.equal(constantTimeEqual('é', 'é'), true);
    assert.equal(constantTimeEqual('é', 'e\u0301'), false);
  });
});
