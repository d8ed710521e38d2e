import '../testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { authenticateUser } from '@edgetune/auth';
import { db, schema } from '@edgetune/db';
import { uniqueEmail, useDatabase } from '../testing/fixtures';
import { me, signUp } from './accounts';

useDatabase();

test('sign-up creates the user, an organization and an owner membership', async () => {
  const email = uniqueEmail('signup');
  const r = await signUp({ email, password: 'correct horse battery', name: 'Ada', orgName: 'Ada Robotics' });
  assert.match(r.user.id, /^user_/);
  assert.match(r.org.id, /^org_/);
  assert.equal(r.role, 'owner');
  const [m] = await db().select().from(schema.memberships).where(eq(schema.memberships.userId, r.user.id));
  assert.equal(m.orgId, r.org.id);
  assert.equal(m.role, 'owner');
  const [u] = await db().select().from(schema.users).where(eq(schema.users.id, r.user.id));
  assert.match(u.passwordHash ?? '', /^\$argon2id\$/);
  const who = await me({ orgId: r.org.id, userId: r.user.id, role: 'owner', via: 'session', scopes: [] });
  assert.equal(who.org.name, 'Ada Robotics');
  assert.equal(who.user?.email, email);
  assert.equal((await authenticateUser(email.toUpperCase(), 'correct horse battery'))?.id, r.user.id);
  assert.equal(await authenticateUser(email, 'wrong password!!'), null);
});

test('a duplicate e-mail (any case) is a conflict and creates nothing', async () => {
  const email = uniqueEmail('dup');
  await signUp({ email, password: 'correct horse battery' });
  const orgsBefore = (await db().select().from(schema.orgs)).length;
  await assert.rejects(signUp({ email: email.toUpperCase(), password: 'correct horse battery' }), (e: Error & { code?: string }) => e.code === 'conflict');
  assert.equal((await db().select().from(schema.orgs)).length, orgsBefore);
});

test('weak passwords and bad e-mails are rejected with a clear error', async () => {
  await assert.rejects(signUp({ email: uniqueEmail(), password: 'short' }), /at least 10 characters/);
  await assert.rejects(signUp({ email: 'not-an-email', password: 'correct horse battery' }), (e: Error & { param?: string }) => e.param === 'email');
});
