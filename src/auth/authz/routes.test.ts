import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MOUNT_SOURCE_ACTION, routeRequirement, V2_ROUTE_REQUIREMENTS } from './routes.js';

describe('route requirements', () => {
  const expectations: [route: keyof typeof V2_ROUTE_REQUIREMENTS, method: string, expected: unknown][] = [
    ['base', 'GET', { kind: 'authenticated' }],
    ['base', 'HEAD', { kind: 'authenticated' }],
    ['catalog', 'GET', { kind: 'filtered', action: 'read' }],
    ['tags', 'GET', { kind: 'action', action: 'read' }],
    ['manifest', 'GET', { kind: 'action', action: 'read' }],
    ['manifest', 'HEAD', { kind: 'action', action: 'read' }],
    ['manifest', 'PUT', { kind: 'manifest-write' }],
    ['manifest', 'DELETE', { kind: 'action', action: 'delete' }],
    ['blob', 'GET', { kind: 'action', action: 'read' }],
    ['blob', 'HEAD', { kind: 'action', action: 'read' }],
    ['blob', 'DELETE', { kind: 'action', action: 'delete' }],
    ['uploads', 'POST', { kind: 'action', action: 'create' }],
    ['upload', 'GET', { kind: 'action', action: 'read' }],
    // HEAD asks what GET asks: the router answers HEAD with the GET handler.
    ['upload', 'HEAD', { kind: 'action', action: 'read' }],
    ['catalog', 'HEAD', { kind: 'filtered', action: 'read' }],
    ['upload', 'PATCH', { kind: 'action', action: 'create' }],
    ['upload', 'PUT', { kind: 'action', action: 'create' }],
    // Cancelling an upload needs delete, as in zot: create-only CI cannot cancel its sessions.
    ['upload', 'DELETE', { kind: 'action', action: 'delete' }],
    ['referrers', 'GET', { kind: 'action', action: 'read' }],
  ];
  for (const [route, method, expected] of expectations) {
    it(`${method} ${route} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(routeRequirement(route, method), expected);
    });
  }

  it('has no requirement for methods a route does not serve, nor for OPTIONS', () => {
    assert.equal(routeRequirement('blob', 'PUT'), undefined);
    assert.equal(routeRequirement('catalog', 'DELETE'), undefined);
    assert.equal(routeRequirement('manifest', 'OPTIONS'), undefined);
    assert.equal(routeRequirement('manifest', 'constructor'), undefined);
    assert.equal(routeRequirement('uploads', 'GET'), undefined);
    assert.equal(routeRequirement('uploads', 'HEAD'), undefined);
  });

  it('never requires update on a route: only a manifest write can, once digests are compared', () => {
    for (const byMethod of Object.values(V2_ROUTE_REQUIREMENTS)) {
      for (const requirement of Object.values(byMethod)) {
        assert.notDeepEqual(requirement, { kind: 'action', action: 'update' });
      }
    }
  });

  it('asks read on the source of a cross-repository mount', () => {
    assert.equal(MOUNT_SOURCE_ACTION, 'read');
  });

  it('is immutable', () => {
    assert.ok(Object.isFrozen(V2_ROUTE_REQUIREMENTS));
    assert.ok(Object.isFrozen(V2_ROUTE_REQUIREMENTS.manifest));
  });
});
