import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actions, can, permissionMatrix, roles, scopeDenyReason, scopesAllow } from './permissions';

test('owner can do everything', () => {
  for (const a of actions) assert.equal(can('owner', a), true, a);
});

test('viewer can only read', () => {
  for (const a of actions) assert.equal(can('viewer', a), a === 'read' || a === 'download', a);
});

test('member trains but does not manage keys, members or billing', () => {
  assert.equal(can('member', 'upload'), true);
  assert.equal(can('member', 'train'), true);
  assert.equal(can('member', 'manage_keys'), false);
  assert.equal(can('member', 'manage_members'), false);
  assert.equal(can('member', 'manage_billing'), false);
});

test('admin manages keys and members but not billing', () => {
  assert.equal(can('admin', 'manage_keys'), true);
  assert.equal(can('admin', 'manage_members'), true);
  assert.equal(can('admin', 'manage_billing'), false);
});

test('every role is in the matrix and every entry is a known action', () => {
  for (const r of roles) for (const a of permissionMatrix[r]) assert.ok((actions as readonly string[]).includes(a));
});

test('unknown role is denied', () => {
  assert.equal(can('nobody' as never, 'read'), false);
});

test('api key scopes map to actions', () => {
  assert.equal(scopesAllow(['read'], 'read'), true);
  assert.equal(scopesAllow(['read'], 'train'), false);
  assert.equal(scopesAllow(['train'], 'upload'), true);
  assert.equal(scopesAllow(['fleet'], 'manage_fleets'), true);
  assert.equal(scopesAllow(['admin'], 'manage_keys'), true);
  assert.equal(scopesAllow([], 'read'), false);
  assert.equal(scopesAllow(['bogus'], 'read'), false);
});

test('denyReason explains a refusal and whom to ask; null when allowed', async () => {
  const { denyReason, scopeDenyReason } = await import('./permissions');
  assert.equal(denyReason('viewer', 'train'), "Your role 'viewer' cannot launch or cancel jobs; ask an owner or admin.");
  assert.equal(denyReason('admin', 'manage_billing'), "Your role 'admin' cannot manage billing; ask an owner.");
  assert.equal(denyReason('member', 'train'), null);
  for (const r of roles) for (const a of actions) assert.equal(denyReason(r, a) === null, can(r, a), `${r} ${a}`);
  assert.match(scopeDenyReason(['read'], 'train')!, /scopes \(read\) do not allow it to launch or cancel jobs; use a key with the 'train' scope/);
  assert.equal(scopeDenyReason(['train'], 'upload'), null);
});

test('manage_org and view_audit belong to owners and admins only', () => {
  for (const a of ['manage_org', 'view_audit'] as const) {
    assert.deepEqual(roles.filter((r) => can(r, a)), ['owner', 'admin']);
  }
});

test('a download key reads published models and nothing else; read keys include download', () => {
  for (const a of actions) assert.equal(scopesAllow(['download'], a), a === 'download', a);
  assert.equal(scopesAllow(['read'], 'download'), true);
  assert.match(scopeDenyReason(['download'], 'read')!, /scopes \(download\) do not allow it to view this organization's data/);
});
