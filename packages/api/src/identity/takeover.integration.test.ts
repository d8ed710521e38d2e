import '../testing/env';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { insertApiKey, rateLimitRules, verifyApiKey } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { callerForUser } from '../context';
import { newOrg, uniqueEmail, useDatabase } from '../testing/fixtures';
import { verifyFirstReason } from '../tenant';
import { signUp } from './accounts';
import { createApiKey } from './api-keys';
import { listOutbox } from './email';
import { requestPasswordReset, resetPassword, verifyEmail } from './self-service';
import { createInvitation } from './invitations';
import { createOrg, renameOrg } from './orgs';
import { signInWithSso } from './sso';

useDatabase();

const freshIp = () => `2001:db8::${randomBytes(4).toString('hex')}`;
const isVerifyFirst = (e: unknown) => e instanceof DomainError && e.code === 'forbidden' && e.message === verifyFirstReason;

async function latestToken(to: string, kind: string): Promise<string> {
  const [m] = (await listOutbox({ to, limit: 10 })).filter((e) => e.kind === kind);
  assert.ok(m, `an e-mail of kind ${kind} to ${to}`);
  return new URL(/(https?:\/\/\S+)/.exec(m.text)![1]).searchParams.get('token')!;
}

/** What a squatter who signed up with someone else's address had set up before this fix. */
async function squatterSetup() {
  const { userId, orgId, email } = await newOrg('squat', { verified: false });
  const key = await insertApiKey({ orgId, createdBy: userId, name: 'planted', scopes: ['read'] });
  const accomplice = await signUp({ email: uniqueEmail('accomplice'), password: 'correct horse battery staple' });
  await db().insert(schema.memberships).values({ orgId, userId: accomplice.user.id, role: 'owner' });
  await db().insert(schema.invitations).values({
    id: `inv_${randomBytes(8).toString('hex')}`,
    orgId,
    email: uniqueEmail('invitee'),
    role: 'admin',
    tokenHash: randomBytes(32).toString('hex'),
    invitedBy: userId,
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  return { userId, orgId, email, key, accomplice };
}

async function assertVoided(s: Awaited<ReturnType<typeof squatterSetup>>, via: string) {
  assert.equal(await verifyApiKey(s.key.key), null, 'the planted key no longer works');
  const members = await db().select().from(schema.memberships).where(eq(schema.memberships.orgId, s.orgId));
  assert.deepEqual(members.map((m) => m.userId), [s.userId], 'the co-owner it added is gone');
  const pending = await db().select().from(schema.invitations).where(and(eq(schema.invitations.orgId, s.orgId)));
  assert.ok(pending.every((i) => i.revokedAt), 'its invitations are revoked');
  const [ev] = await db().select().from(schema.auditEvents).where(and(eq(schema.auditEvents.orgId, s.orgId), eq(schema.auditEvents.action, 'auth.account_takeover')));
  assert.deepEqual(ev.data, { via, apiKeysRevoked: 1, invitationsRevoked: 1, membersRemoved: 1 });
}

test('an unverified account cannot create keys, invite, rename or create organizations until it verifies', async () => {
  const { userId, orgId, email } = await newOrg('unverified', { verified: false });
  const caller = (await callerForUser(userId, { orgId }))!;
  assert.equal(caller.emailVerified, false);
  await assert.rejects(createApiKey(caller, { name: 'k' }), isVerifyFirst);
  await assert.rejects(createInvitation(caller, { email: uniqueEmail('x'), role: 'member' }), isVerifyFirst);
  await assert.rejects(renameOrg(caller, 'Acme Corporation'), isVerifyFirst);
  await assert.rejects(createOrg(userId, 'Acme Corporation', { ip: null, userAgent: null }), isVerifyFirst);
  assert.equal((await db().select().from(schema.apiKeys).where(eq(schema.apiKeys.orgId, orgId))).length, 0);

  await db().update(schema.users).set({ emailVerifiedAt: null }).where(eq(schema.users.id, userId));
  const { sendVerificationEmail } = await import('./self-service');
  await sendVerificationEmail({ id: userId, email });
  await verifyEmail(await latestToken(email, 'verify_email'));
  const verified = (await callerForUser(userId, { orgId }))!;
  assert.equal(verified.emailVerified, true);
  assert.match((await createApiKey(verified, { name: 'k' })).key, /^et_/);
  assert.equal((await renameOrg(verified, `Renamed ${randomBytes(3).toString('hex')}`)).id, orgId);
});

test("the address's owner resetting the password removes what the unverified account set up, audited", async () => {
  const s = await squatterSetup();
  await requestPasswordReset(s.email, { ip: freshIp(), userAgent: null });
  await resetPassword(await latestToken(s.email, 'reset_password'), 'the real owner chose this', { ip: freshIp(), userAgent: 'owner' });
  await assertVoided(s, 'password_reset');
});

test("the address's owner signing in with SSO removes what the unverified account set up, audited", async () => {
  const s = await squatterSetup();
  const user = await signInWithSso({ provider: 'oidc', providerAccountId: `sub-${randomBytes(6).toString('hex')}`, email: s.email, name: null });
  assert.equal(user.id, s.userId);
  await assertVoided(s, 'sso');
});

test('a verified account keeps its keys and members through a password reset', async () => {
  const { userId, orgId, email } = await newOrg('kept');
  const key = await insertApiKey({ orgId, createdBy: userId, name: 'mine', scopes: ['read'] });
  await requestPasswordReset(email, { ip: freshIp(), userAgent: null });
  await resetPassword(await latestToken(email, 'reset_password'), 'a new long password', { ip: freshIp(), userAgent: null });
  assert.ok(await verifyApiKey(key.key));
});

test('password reset submissions are limited per address, and a bad token is refused before hashing', async () => {
  const ip = freshIp();
  const { max } = rateLimitRules().resetIp;
  for (let i = 0; i < max; i++) {
    await assert.rejects(resetPassword('A'.repeat(43), 'a new long password', { ip, userAgent: null }), /not valid/);
  }
  await assert.rejects(resetPassword('A'.repeat(43), 'a new long password', { ip, userAgent: null }), (e: unknown) => e instanceof DomainError && e.code === 'rate_limited');
});
