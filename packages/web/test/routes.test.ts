import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchRoute, pathFor, type Route } from '../src/app/routes.js';

test('each page has an address, and the address leads back to the page', () => {
  const routes: Route[] = [
    { page: 'overview' },
    { page: 'agent', agentId: 'gpu-box-1' },
    { page: 'agent', agentId: 'host.example/with slash?and#hash' },
    { page: 'errors' },
    { page: 'events' },
    { page: 'capacity' },
    { page: 'storage' },
    { page: 'alerts' },
  ];
  for (const r of routes) assert.deepEqual(matchRoute(pathFor(r)), r);
});

test('agent ids are encoded, so an id cannot make a link to another path or scheme', () => {
  assert.equal(pathFor({ page: 'agent', agentId: '../../api/v1/keys' }), '/agents/..%2F..%2Fapi%2Fv1%2Fkeys');
  assert.equal(pathFor({ page: 'agent', agentId: 'javascript:alert(1)' }), '/agents/javascript%3Aalert(1)');
});

test('anything else is not found', () => {
  for (const p of ['/agents', '/agents/a/b', '/nope', '/agents/%E0%A4%A']) assert.deepEqual(matchRoute(p), { page: 'not-found' });
});
