import '../testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TRPCError } from '@trpc/server';
import { and, eq } from 'drizzle-orm';
import { newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { createCaller } from '../trpc/root';
import { markVerified, newOrg, uniqueEmail, useDatabase } from '../testing/fixtures';
import { createTRPCContext } from '../trpc/procedures';
import { signUp } from './accounts';
import { listOutbox } from './email';

useDatabase();

/**
 * A browser: each call gives a caller for the next request, after taking in the cookies (here
 * only `et_org`) that the previous request set.
 */
function browser(userId: string | null) {
  const jar = new Map<string, string>();
  let last: Headers | null = null;
  return async () => {
    for (const sc of last?.getSetCookie() ?? []) {
      const [k, v] = sc.split(';')[0].split('=');
      if (/Max-Age=0/.test(sc)) jar.delete(k);
      else jar.set(k, v);
    }
    last = new Headers();
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    return createCaller(await createTRPCContext({ sessionUserId: userId, headers: new Headers(cookie ? { cookie } : {}), resHeaders: last }));
  };
}

async function person(tag: string) {
  const email = uniqueEmail(tag);
  const r = await signUp({ email, password: 'correct horse battery', orgName: `${tag} home ${Date.now()}` });
  await markVerified(r.user.id);
  return { userId: r.user.id, email, homeOrg: r.org };
}

async function inviteToken(email: string): Promise<string> {
  const [m] = (await listOutbox({ to: email })).filter((e) => e.kind === 'invitation');
  return /\/invite\/([A-Za-z0-9_-]{43})/.exec(m.text)![1];
}

test('organizations: create switches to it, switch sets an httpOnly cookie, foreign orgs are 404', async () => {
  const ada = await person('ada');
  const as = browser(ada.userId);
  assert.deepEqual((await (await as()).orgs.list()).map((o) => [o.id, o.current]), [[ada.homeOrg.id, true]]);
  const resHeaders = new Headers();
  const second = await createCaller(await createTRPCContext({ sessionUserId: ada.userId, headers: new Headers(), resHeaders })).orgs.create({ name: 'Second Org' });
  const cookie = resHeaders.get('set-cookie')!;
  assert.match(cookie, new RegExp(`^et_org=${second.id}; Max-Age=\\d+; Path=/; HttpOnly; SameSite=Lax`));
  assert.equal(second.role, 'owner');

  const a = await as();
  await a.orgs.switch({ orgId: second.id });
  assert.equal((await (await as()).me.get()).org.id, second.id);
  assert.equal((await (await as()).orgs.list()).find((o) => o.current)?.id, second.id);
  assert.equal((await (await as()).me.get()).orgs, 2);
  await (await as()).orgs.switch({ orgId: ada.homeOrg.id });
  assert.equal((await (await as()).me.get()).org.id, ada.homeOrg.id);

  const other = await newOrg('foreign');
  await assert.rejects((await as()).orgs.switch({ orgId: other.orgId }), (e: TRPCError) => e.code === 'NOT_FOUND');
  // A forged cookie naming a foreign org falls back to the user's own first org.
  const forged = createCaller(await createTRPCContext({ sessionUserId: ada.userId, headers: new Headers({ cookie: `et_org=${other.orgId}` }) }));
  assert.equal((await forged.me.get()).org.id, ada.homeOrg.id);
  await assert.rejects((await as()).orgs.create({ name: '   ' }), (e: TRPCError) => e.code === 'BAD_REQUEST');
});

test('invitations: accept adds the member and switches; reused, expired, revoked and wrong-e-mail links fail clearly', async () => {
  const owner = await person('owner');
  const own = browser(owner.userId);
  const bob = await person('bob');
  const inv = await (await own()).invitations.create({ email: bob.email.toUpperCase(), role: 'member' });
  assert.equal(inv.email, bob.email);
  assert.ok(Math.abs(inv.expiresAt.getTime() - Date.now() - 7 * 24 * 3600_000) < 60_000);
  assert.ok(!('token' in inv) && !JSON.stringify(inv).includes('tokenHash'));
  const token = await inviteToken(bob.email);
  const [mail] = await listOutbox({ to: bob.email });
  assert.match(mail.text, new RegExp(`/invite/${token}`));
  assert.equal((await (await own()).invitations.list()).length, 1);

  const anon = createCaller(await createTRPCContext({ sessionUserId: null, headers: new Headers() }));
  const info = await anon.invitations.get({ token });
  assert.equal(info.status, 'pending');
  assert.equal(info.email, bob.email);
  assert.equal(info.role, 'member');
  await assert.rejects(anon.invitations.get({ token: 'A'.repeat(43) }), (e: TRPCError) => e.code === 'NOT_FOUND');
  await assert.rejects(anon.invitations.accept({ token }), (e: TRPCError) => e.code === 'UNAUTHORIZED');

  const eve = await person('eve');
  await assert.rejects((await browser(eve.userId)()).invitations.accept({ token }), (e: TRPCError) => e.code === 'FORBIDDEN' && /^This invitation was sent to a different e-mail address/.test(e.message));
  assert.equal((await db().select().from(schema.memberships).where(eq(schema.memberships.userId, eve.userId))).length, 1, 'nothing half-created');

  const bb = browser(bob.userId);
  const joined = await (await bb()).invitations.accept({ token });
  assert.equal(joined.org.id, owner.homeOrg.id);
  assert.equal((await (await bb()).me.get()).org.id, owner.homeOrg.id, 'the accepted org is now active');
  assert.equal((await (await bb()).me.get()).role, 'member');
  assert.equal((await (await bb()).me.get()).emailVerified, true);
  await assert.rejects((await bb()).invitations.accept({ token }), (e: TRPCError) => e.code === 'CONFLICT' && /already been accepted/.test(e.message));
  assert.equal((await anon.invitations.get({ token })).status, 'accepted');
  assert.equal((await (await own()).invitations.list()).length, 0);
  await assert.rejects((await own()).invitations.create({ email: bob.email, role: 'viewer' }), (e: TRPCError) => e.code === 'CONFLICT' && /already a member/.test(e.message));

  const carol = await person('carol');
  await (await own()).invitations.create({ email: carol.email, role: 'viewer' });
  const expired = await inviteToken(carol.email);
  await db().update(schema.invitations).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(schema.invitations.orgId, owner.homeOrg.id));
  assert.equal((await anon.invitations.get({ token: expired })).status, 'expired');
  await assert.rejects((await browser(carol.userId)()).invitations.accept({ token: expired }), (e: TRPCError) => e.code === 'CONFLICT' && /expired/.test(e.message));

  const again = await (await own()).invitations.create({ email: carol.email, role: 'viewer' });
  const revokedToken = await inviteToken(carol.email);
  await (await own()).invitations.revoke({ id: again.id });
  await assert.rejects((await browser(carol.userId)()).invitations.accept({ token: revokedToken }), (e: TRPCError) => e.code === 'CONFLICT' && /revoked/.test(e.message));

  // Members cannot invite; admins cannot invite owners; another org cannot revoke ours.
  await assert.rejects((await bb()).invitations.create({ email: uniqueEmail('x'), role: 'member' }), (e: TRPCError) => e.code === 'FORBIDDEN' && /ask an owner or admin/.test(e.message));
  const foreign = await newOrg('foreign');
  await assert.rejects(
    createCaller(await createTRPCContext({ sessionUserId: foreign.userId, headers: new Headers() })).invitations.revoke({ id: again.id }),
    (e: TRPCError) => e.code === 'NOT_FOUND',
  );
  const actions = (await (await own()).audit.list({ limit: 100 })).data.map((e) => e.action);
  for (const a of ['member.invited', 'member.joined', 'member.invitation_revoked']) assert.ok(actions.includes(a), a);
});

async function withMember(role: 'admin' | 'member' | 'viewer') {
  const owner = await person('own');
  const m = await person(role);
  await db().insert(schema.memberships).values({ orgId: owner.homeOrg.id, userId: m.userId, role });
  return { owner, m, own: browser(owner.userId), mb: browser(m.userId) };
}

test('roles: change and remove; the removed member loses access at once; the last owner stays', async () => {
  const { owner, m, own, mb } = await withMember('member');
  await (await mb()).orgs.switch({ orgId: owner.homeOrg.id });
  assert.equal((await (await mb()).me.get()).role, 'member');
  const changed = await (await own()).members.changeRole({ userId: m.userId, role: 'viewer' });
  assert.equal(changed.role, 'viewer');
  const me = await (await mb()).me.get();
  assert.equal(me.role, 'viewer');
  assert.deepEqual(me.permissions.train, { allowed: false, reason: "Your role 'viewer' cannot launch or cancel jobs; ask an owner or admin." });
  assert.deepEqual(me.permissions.read, { allowed: true, reason: null });
  await assert.rejects((await mb()).jobs.create({ model: 'lfm2-tiny', training_file: 'file-x' }), (e: TRPCError) => e.code === 'FORBIDDEN' && /cannot launch or cancel jobs/.test(e.message));

  const members = await (await own()).members.list();
  assert.deepEqual(members.map((x) => [x.email, x.role]), [[owner.email, 'owner'], [m.email, 'viewer']]);
  assert.ok(!JSON.stringify(members).includes('argon2'), 'no password hashes');

  // Last owner: cannot be demoted, removed, or leave.
  await assert.rejects((await own()).members.changeRole({ userId: owner.userId, role: 'admin' }), (e: TRPCError) => e.code === 'CONFLICT' && /last owner/.test(e.message));
  await assert.rejects((await own()).members.remove({ userId: owner.userId }), (e: TRPCError) => e.code === 'CONFLICT' && /last owner/.test(e.message));
  await assert.rejects((await own()).members.leave(), (e: TRPCError) => e.code === 'CONFLICT' && /last owner/.test(e.message));

  await (await own()).members.remove({ userId: m.userId });
  // The removed member's next request acts in their own org only; this org's data is gone for them.
  const after = await (await mb()).me.get();
  assert.equal(after.org.id, m.homeOrg.id);
  assert.equal((await (await mb()).orgs.list()).length, 1);
  await assert.rejects((await own()).members.remove({ userId: m.userId }), (e: TRPCError) => e.code === 'NOT_FOUND');
  const log = (await (await own()).audit.list()).data;
  const roleChange = log.find((e) => e.action === 'member.role_changed')!;
  assert.deepEqual(roleChange.data, { email: m.email, from: 'member', to: 'viewer' });
  assert.equal(roleChange.actor.label, owner.email);
  assert.ok(log.some((e) => e.action === 'member.removed' && e.target?.id === m.userId));
});

test('a removed member with no other organization is refused', async () => {
  const { owner, m, own } = await withMember('member');
  await db().delete(schema.memberships).where(and(eq(schema.memberships.orgId, m.homeOrg.id)));
  const mc = () => createTRPCContext({ sessionUserId: m.userId, headers: new Headers({ cookie: `et_org=${owner.homeOrg.id}` }) });
  assert.equal((await createCaller(await mc()).me.get()).org.id, owner.homeOrg.id);
  await (await own()).members.remove({ userId: m.userId });
  await assert.rejects(createCaller(await mc()).me.get(), (e: TRPCError) => e.code === 'UNAUTHORIZED' && /not a member of any organization/.test(e.message));
});

test('admins manage members but not owners; members and viewers cannot', async () => {
  const { owner, m: admin, mb: ad } = await withMember('admin');
  await (await ad()).orgs.switch({ orgId: owner.homeOrg.id });
  await assert.rejects((await ad()).members.changeRole({ userId: owner.userId, role: 'member' }), (e: TRPCError) => e.code === 'FORBIDDEN' && /only an owner/.test(e.message));
  await assert.rejects((await ad()).members.remove({ userId: owner.userId }), (e: TRPCError) => e.code === 'FORBIDDEN');
  await assert.rejects((await ad()).invitations.create({ email: uniqueEmail('o'), role: 'owner' }), (e: TRPCError) => e.code === 'FORBIDDEN');
  await assert.rejects((await ad()).orgs.transferOwnership({ userId: admin.userId }), (e: TRPCError) => e.code === 'FORBIDDEN' && /only an owner/.test(e.message));
  await assert.rejects((await ad()).orgs.delete({ confirmName: owner.homeOrg.name }), (e: TRPCError) => e.code === 'FORBIDDEN');
  const renamed = await (await ad()).orgs.rename({ name: 'Renamed by admin' });
  assert.equal(renamed.name, 'Renamed by admin');
  const v = await person('viewer');
  await db().insert(schema.memberships).values({ orgId: owner.homeOrg.id, userId: v.userId, role: 'viewer' });
  const vc = createCaller(await createTRPCContext({ sessionUserId: v.userId, headers: new Headers({ cookie: `et_org=${owner.homeOrg.id}` }) }));
  await assert.rejects(vc.orgs.rename({ name: 'nope' }), (e: TRPCError) => e.code === 'FORBIDDEN' && e.message === "Your role 'viewer' cannot rename or manage the organization; ask an owner or admin.");
  await assert.rejects(vc.members.changeRole({ userId: v.userId, role: 'admin' }), (e: TRPCError) => e.code === 'FORBIDDEN');
  await assert.rejects(vc.audit.list(), (e: TRPCError) => e.code === 'FORBIDDEN' && /cannot view the audit log/.test(e.message));
  assert.equal((await vc.members.list()).length, 3);
});

test('transfer ownership: the member becomes owner, the old owner admin', async () => {
  const { owner, m, own, mb } = await withMember('member');
  await assert.rejects((await own()).orgs.transferOwnership({ userId: owner.userId }), (e: TRPCError) => e.code === 'BAD_REQUEST');
  const stranger = await newOrg('stranger');
  await assert.rejects((await own()).orgs.transferOwnership({ userId: stranger.userId }), (e: TRPCError) => e.code === 'NOT_FOUND');
  await (await own()).orgs.transferOwnership({ userId: m.userId });
  assert.equal((await (await own()).me.get()).role, 'admin');
  await (await mb()).orgs.switch({ orgId: owner.homeOrg.id });
  assert.equal((await (await mb()).me.get()).role, 'owner');
  // The new owner may now demote the old one, who is no longer the last owner.
  await (await mb()).members.changeRole({ userId: owner.userId, role: 'viewer' });
  const ev = (await (await mb()).audit.list({ action: 'org.ownership_transferred' })).data;
  assert.equal(ev.length, 1);
  assert.equal(ev[0].target?.id, m.userId);
});

test('delete: needs the exact name, refuses while a job runs, then removes rows and stored objects', async () => {
  const { caller, orgId, userId } = await newOrg('doomed');
  const own = browser(userId);
  const [org] = await db().select().from(schema.orgs).where(eq(schema.orgs.id, orgId));
  await storage().put(`orgs/${orgId}/files/a.jsonl`, 'hello\n');
  await storage().put(`orgs/${orgId}/models/v/x.gguf`, 'GGUF');
  const fileId = newId('file');
  await db().insert(schema.files).values({ id: fileId, orgId, filename: 'a.jsonl', purpose: 'fine-tune', bytes: 6, sha256: 'x'.repeat(64), storageKey: `orgs/${orgId}/files/a.jsonl`, examples: 1, stats: {} });
  const jobId = newId('job');
  await db().insert(schema.jobs).values({
    id: jobId, orgId, baseModel: 'lfm2-tiny', trainingFileId: fileId, hyperparameters: {}, targetDevices: [], seed: 1, status: 'running', workflowId: `wf-${jobId}`,
  } as typeof schema.jobs.$inferInsert);
  const k = await (await own()).apiKeys.create({ name: 'doomed key', scopes: ['read'] });

  await assert.rejects((await own()).orgs.delete({ confirmName: 'wrong' }), (e: TRPCError) => e.code === 'BAD_REQUEST' && e.message.includes(org.name));
  await assert.rejects((await own()).orgs.delete({ confirmName: org.name }), (e: TRPCError) => e.code === 'CONFLICT' && e.message.includes(jobId) && /still running/.test(e.message));
  assert.ok(await storage().head(`orgs/${orgId}/files/a.jsonl`), 'nothing deleted while refused');
  await db().update(schema.jobs).set({ status: 'cancelled' }).where(eq(schema.jobs.id, jobId));

  assert.deepEqual(await (await own()).orgs.delete({ confirmName: org.name }), { id: orgId, deleted: true });
  assert.equal((await db().select().from(schema.orgs).where(eq(schema.orgs.id, orgId))).length, 0);
  assert.equal((await db().select().from(schema.jobs).where(eq(schema.jobs.orgId, orgId))).length, 0);
  assert.equal((await db().select().from(schema.files).where(eq(schema.files.orgId, orgId))).length, 0);
  assert.deepEqual(await storage().list(`orgs/${orgId}`), []);
  // The key of the deleted org no longer works, with a clear message.
  const viaKey = createCaller(await createTRPCContext({ sessionUserId: null, headers: new Headers({ authorization: `Bearer ${k.key}` }) }));
  await assert.rejects(viaKey.me.get(), (e: TRPCError) => e.code === 'UNAUTHORIZED' && /deleted with their organization/.test(e.message));
  const [ev] = await db().select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'org.deleted'), eq(schema.auditEvents.targetId, orgId)));
  assert.equal(ev.orgId, null);
  assert.equal(ev.actorUserId, caller.userId);
  await assert.rejects((await own()).me.get(), (e: TRPCError) => e.code === 'UNAUTHORIZED');
});
