import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeCallbackUrl } from './callback-url.js';

const allowed = ['https://registry.example.test'];

describe('callback_ui never leaves the site', () => {
  it('keeps relative paths and URLs on an allowed origin', () => {
    assert.equal(safeCallbackUrl('/home', allowed), '/home');
    assert.equal(safeCallbackUrl('/image/a%2Fb?x=1#t', allowed), '/image/a%2Fb?x=1#t');
    assert.equal(
      safeCallbackUrl('https://registry.example.test/home', allowed),
      'https://registry.example.test/home',
    );
    assert.equal(
      safeCallbackUrl('https://registry.example.test:443/home', allowed),
      'https://registry.example.test/home',
    );
  });
  it('keeps "empty" empty', () => {
    assert.equal(safeCallbackUrl('', allowed), '');
    assert.equal(safeCallbackUrl(null, allowed), '');
  });
  it('turns everything that could leave the site into /', () => {
    for (const bad of [
      'https://evil.example/',
      'http://registry.example.test/home',
      'https://registry.example.test.evil.example/',
      '//evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      '/home\r\nLocation: https://evil.example',
      'javascript:alert(1)',
      'home',
      'data:text/html,x',
    ]) {
      assert.equal(safeCallbackUrl(bad, allowed), '/', bad);
    }
  });
});
