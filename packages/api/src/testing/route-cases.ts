/**
 * One case per route that exists, for the isolation and role matrices
 * (access-matrix.integration.test.ts fails, naming the route, when a route has no case here).
 *
 * A case says who may call the route (`access`, checked against packages/auth's matrix), what it
 * does with tenant data (`tenant`), and how to build a valid request aimed at one organization's
 * objects (`prepare`, run once per request: routes that change or delete something get a fresh
 * object each time). Adding a route = adding one entry.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';
import { createRelease } from '../fleets/releases';
import { issueUserToken } from '../identity/user-tokens';
import {
  fileState,
  makeOrg,
  membershipsState,
  membershipState,
  rowOf,
  standaloneUser,
  type Outcome,
  type OrgWorld,
  type Prepared,
  type Principal,
  type RouteCase,
} from './access-matrix';
import { goodJsonl } from './fixtures';

const enc = encodeURIComponent;
const hex = () => randomBytes(4).toString('hex');

/** A job request that passes the permission and tenant checks, then stops at an unknown device: no training starts. */
const jobBody = (trainingFile: string) => ({ model: 'lfm2-tiny', training_file: trainingFile, target_devices: ['no-such-device'] });
const stopsAtDevice = (o: Outcome) => {
  assert.equal(o.status, 400, o.text);
  assert.match(o.message ?? '', /no-such-device/);
};

/** Stripe's pages on an installation without billing: refused after the permission check, saying why. */
const billingOff = (o: Outcome) => {
  assert.equal(o.status, 400, o.text);
  assert.match(o.message ?? '', /Billing is off/);
};

const multipartFile = (purpose?: string) => {
  const fd = new FormData();
  if (purpose) fd.append('purpose', purpose);
  fd.append('file', new Blob([goodJsonl(2)]), `matrix-${hex()}.jsonl`);
  return fd;
};

const fileGet = async (org: OrgWorld, path: (id: string) => Prepared) => {
  const f = await org.file();
  return { ...path(f.id), state: () => fileState(f.id) };
};
const fileDelete = async (org: OrgWorld, path: (id: string) => Prepared) => {
  const f = await org.newFile();
  return { ...path(f.id), state: () => fileState(f.id) };
};
const jobGet = async (org: OrgWorld, path: (id: string) => Prepared) => {
  const m = await org.model();
  return { ...path(m.jobId), state: () => rowOf(schema.jobs, m.jobId) };
};
const jobCancel = async (org: OrgWorld, path: (id: string) => Prepared) => {
  const j = await org.newRunningJob();
  return { ...path(j.id), state: () => rowOf(schema.jobs, j.id) };
};
const jobCreate = async (org: OrgWorld, req: (fileId: string) => Prepared) => {
  const f = await org.file();
  const jobIdsOfOrg = async () => (await db().select({ id: schema.jobs.id }).from(schema.jobs).where(eq(schema.jobs.orgId, org.orgId))).map((j) => j.id).sort();
  return { ...req(f.id), state: async () => ({ file: await fileState(f.id), jobs: await jobIdsOfOrg() }) };
};
const listShowing = (ids: (org: OrgWorld) => Promise<string[]>, req: Prepared) => async (org: OrgWorld) => ({ ...req, shows: await ids(org) });
const fileIds = async (org: OrgWorld) => [(await org.file()).id];
const jobIds = async (org: OrgWorld) => [(await org.model()).jobId];
const modelNames = async (org: OrgWorld) => [(await org.model()).name];
const json = (body: unknown): Pick<Prepared, 'body' | 'headers'> => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const strongPassword = 'correct horse battery staple';

/** Whether `who` is a member of `org` (the role matrix) rather than an outsider (the isolation matrix). */
const isMember = (org: OrgWorld, who: Principal) => who.kind === 'session' && Object.values(org.users).some((u) => u.id === who.userId);

/** A link token of a user of no organization: whoever holds it may use it, so it is no tenant's object. */
const userToken = async (purpose: 'verify_email' | 'reset_password') => {
  const u = await standaloneUser(purpose === 'reset_password');
  return (await issueUserToken(db(), u.id, purpose)).token;
};

const datasetOf = async (org: OrgWorld, fresh = false) => {
  const f = fresh ? await org.newFile() : await org.file();
  assert.ok(f.datasetId, 'an uploaded file is a version of a dataset');
  return { datasetId: f.datasetId, fileId: f.id, version: f.version, state: async () => ({ dataset: await rowOf(schema.datasets, f.datasetId!), file: await fileState(f.id) }) };
};
const uploadTarget = async (org: OrgWorld, filled = false) => {
  const u = await org.newUpload(filled);
  return { ...u, state: () => rowOf(schema.uploads, u.id) };
};
/** An organization pool of `org` (a row as createPool writes it; its token is never used here). */
const newPool = async (org: OrgWorld) => {
  const id = `pool_matrix${hex()}${hex()}`;
  await db().insert(schema.pools).values({ id, orgId: org.orgId, name: `matrix-${hex()}`, kind: 'device', profiles: [], tokenHash: randomBytes(32).toString('hex'), tokenPrefix: 'etp_matrix' });
  return id;
};
const poolState = (id: string) => async () => {
  const row = (await rowOf(schema.pools, id)) as { tokenHash: string | null } | null;
  return row ? { tokenHash: row.tokenHash } : null;
};
/** A fleet of `org` with one enrolled device (rows as createFleet and enrollDevice write them). */
const newFleet = async (org: OrgWorld) => {
  const id = `flt_matrix${hex()}${hex()}`;
  await db().insert(schema.fleets).values({ id, orgId: org.orgId, name: `matrix-${hex()}`, tokenHash: randomBytes(32).toString('hex'), tokenPrefix: 'etf_matrix' });
  const deviceId = `dev_matrix${hex()}${hex()}`;
  await db().insert(schema.fleetDevices).values({ id: deviceId, orgId: org.orgId, fleetId: id, name: `car-${hex()}`, profile: 'arm64-automotive', fingerprint: {}, tokenHash: randomBytes(32).toString('hex') });
  const state = async () => ({ fleet: await rowOf(schema.fleets, id), device: await rowOf(schema.fleetDevices, deviceId) });
  return { id, deviceId, state };
};
/** A fleet of `org` with a release of the organization's model at its first step (as createRelease writes it). */
const newRelease = async (org: OrgWorld, state: 'rolling' | 'paused' = 'rolling') => {
  const f = await newFleet(org);
  const r = await createRelease(org.owner, f.id, { model: (await org.model()).name, steps: [10, 100] });
  if (state === 'paused') await db().update(schema.fleetReleases).set({ state }).where(eq(schema.fleetReleases.id, r.id));
  const release = async () => ({ ...(await f.state()), release: await rowOf(schema.fleetReleases, r.id) });
  return { fleetId: f.id, id: r.id, state: release };
};
/** Success, or a conflict the route explains (it comes after the permission check). */
const okOrConflict = (o: Outcome) => assert.ok(o.status < 300 || (o.status === 409 && (o.code === 'conflict' || o.code === 'CONFLICT')), o.text);
const auditIds = async (org: OrgWorld) => [(await org.newAuditEvent()).id];
const ownerOnly = { roles: ['owner'] as const, reason: /only an owner can|an owner must do it/ };
/** The caller of a route that acts on the caller's own account. */
const sessionUserId = (who: Principal) => (who.kind === 'session' ? who.userId : null);

export const trpcCases: RouteCase[] = [
  {
    route: 'trpc auth.signUp',
    access: 'public',
    tenant: 'none',
    prepare: async () => ({
      input: { email: `matrix-signup-${randomBytes(5).toString('hex')}@example.test`, password: 'correct horse battery staple', orgName: 'Matrix sign-up' },
    }),
  },
  { route: 'trpc me.get', access: 'any', tenant: 'none', prepare: async () => ({}) },
  {
    route: 'trpc apiKeys.list',
    access: 'manage_keys',
    tenant: 'list',
    prepare: async (org) => ({ input: {}, shows: [(await org.newApiKey(['read'])).id] }),
  },
  { route: 'trpc apiKeys.create', access: 'manage_keys', tenant: 'none', prepare: async () => ({ input: { name: 'matrix', scopes: ['read'] } }) },
  {
    route: 'trpc apiKeys.revoke',
    access: 'manage_keys',
    tenant: 'object',
    prepare: async (org) => {
      const k = await org.newApiKey(['read']);
      return { input: { id: k.id }, state: async () => ((await rowOf(schema.apiKeys, k.id)) as { revokedAt: Date | null }).revokedAt };
    },
  },
  { route: 'trpc files.list', access: 'read', tenant: 'list', prepare: listShowing(fileIds, { input: {} }) },
  { route: 'trpc files.get', access: 'read', tenant: 'object', prepare: (org) => fileGet(org, (id) => ({ input: { id } })) },
  { route: 'trpc files.delete', access: 'upload', tenant: 'object', prepare: (org) => fileDelete(org, (id) => ({ input: { id } })) },
  { route: 'trpc jobs.create', access: 'train', tenant: 'object', allowed: stopsAtDevice, prepare: (org) => jobCreate(org, (id) => ({ input: jobBody(id) })) },
  { route: 'trpc jobs.list', access: 'read', tenant: 'list', prepare: listShowing(jobIds, { input: {} }) },
  { route: 'trpc jobs.get', access: 'read', tenant: 'object', prepare: (org) => jobGet(org, (id) => ({ input: { id } })) },
  { route: 'trpc jobs.events', access: 'read', tenant: 'object', prepare: (org) => jobGet(org, (id) => ({ input: { id } })) },
  { route: 'trpc jobs.cancel', access: 'train', tenant: 'object', prepare: (org) => jobCancel(org, (id) => ({ input: { id } })) },
  { route: 'trpc jobs.estimate', access: 'train', tenant: 'object', allowed: stopsAtDevice, prepare: (org) => jobCreate(org, (id) => ({ input: jobBody(id) })) },
  { route: 'trpc jobs.cost', access: 'read', tenant: 'object', prepare: (org) => jobGet(org, (id) => ({ input: { id } })) },

  // --- billing (the stack's web app runs billing off: Stripe's pages answer why)
  { route: 'trpc billing.get', access: 'manage_billing', tenant: 'none', prepare: async () => ({}) },
  { route: 'trpc billing.setCap', access: 'manage_billing', tenant: 'none', prepare: async () => ({ input: { monthly_cap: 10_000 } }) },
  { route: 'trpc billing.invoices', access: 'manage_billing', tenant: 'none', prepare: async () => ({}) },
  { route: 'trpc billing.checkout', access: 'manage_billing', tenant: 'none', allowed: billingOff, prepare: async () => ({}) },
  { route: 'trpc billing.portal', access: 'manage_billing', tenant: 'none', allowed: billingOff, prepare: async () => ({}) },
  { route: 'trpc models.list', access: 'read', tenant: 'list', prepare: listShowing(modelNames, {}) },
  { route: 'trpc models.get', access: 'download', tenant: 'object', prepare: async (org) => ({ input: { name: (await org.model()).name } }) },
  // The pools and devices are the platform's, not a tenant's; the procedure checks membership only.
  { route: 'trpc devices.list', access: 'any', tenant: 'none', prepare: async () => ({}) },
  // Pools: the platform's (the same for everyone) and the organization's own.
  { route: 'trpc pools.list', access: 'read', tenant: 'list', prepare: async (org) => ({ shows: [await newPool(org)] }) },
  {
    route: 'trpc pools.get',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const id = await newPool(org);
      return { input: { id }, state: poolState(id) };
    },
  },
  { route: 'trpc pools.create', access: 'manage_pools', tenant: 'none', prepare: async () => ({ input: { name: `matrix-${hex()}` } }) },
  {
    route: 'trpc pools.rotateToken',
    access: 'manage_pools',
    tenant: 'object',
    prepare: async (org) => {
      const id = await newPool(org);
      return { input: { id }, state: poolState(id) };
    },
  },
  {
    route: 'trpc pools.delete',
    access: 'manage_pools',
    tenant: 'object',
    prepare: async (org) => {
      const id = await newPool(org);
      return { input: { id }, state: poolState(id) };
    },
  },
  // Fleets: the organization's own.
  {
    route: 'trpc fleets.releases',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const r = await newRelease(org);
      return { input: { fleetId: r.fleetId }, state: r.state };
    },
  },
  {
    route: 'trpc fleets.createRelease',
    access: 'manage_fleets',
    tenant: 'object',
    prepare: async (org) => {
      const f = await newFleet(org);
      return { input: { fleetId: f.id, release: { model: (await org.model()).name } }, state: f.state };
    },
  },
  ...(['advanceRelease', 'pauseRelease', 'resumeRelease', 'rollbackRelease'] as const).map(
    (proc): RouteCase => ({
      route: `trpc fleets.${proc}`,
      access: 'manage_fleets',
      tenant: 'object',
      allowed: okOrConflict,
      prepare: async (org) => {
        const r = await newRelease(org, proc === 'resumeRelease' ? 'paused' : 'rolling');
        return { input: { fleetId: r.fleetId, releaseId: r.id }, state: r.state };
      },
    }),
  ),
  {
    route: 'trpc fleets.rotateRoot',
    access: 'manage_fleets',
    tenant: 'object',
    prepare: async (org) => {
      const f = await newFleet(org);
      return { input: { id: f.id }, state: f.state };
    },
  },
  { route: 'trpc fleets.list', access: 'read', tenant: 'list', prepare: async (org) => ({ shows: [(await newFleet(org)).id] }) },
  {
    route: 'trpc fleets.get',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const f = await newFleet(org);
      return { input: { id: f.id }, state: f.state };
    },
  },
  { route: 'trpc fleets.create', access: 'manage_fleets', tenant: 'none', prepare: async () => ({ input: { name: `matrix-${hex()}` } }) },
  {
    route: 'trpc fleets.rotateToken',
    access: 'manage_fleets',
    tenant: 'object',
    prepare: async (org) => {
      const f = await newFleet(org);
      return { input: { id: f.id }, state: f.state };
    },
  },
  {
    route: 'trpc fleets.delete',
    access: 'manage_fleets',
    tenant: 'object',
    prepare: async (org) => {
      const f = await newFleet(org);
      return { input: { id: f.id }, state: f.state };
    },
  },
  {
    route: 'trpc fleets.devices',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const f = await newFleet(org);
      return { input: { fleetId: f.id }, state: f.state };
    },
  },
  {
    route: 'trpc fleets.revokeDevice',
    access: 'manage_fleets',
    tenant: 'object',
    prepare: async (org) => {
      const f = await newFleet(org);
      return { input: { fleetId: f.id, deviceId: f.deviceId }, state: f.state };
    },
  },

  // --- the caller's own account (links e-mailed to a person are credentials of that person, not of a tenant)
  { route: 'trpc auth.verifyEmail', access: 'public', tenant: 'none', prepare: async () => ({ input: { token: await userToken('verify_email') } }) },
  {
    route: 'trpc auth.resendVerification',
    access: 'signed-in',
    tenant: 'none',
    freshOrg: true,
    prepare: async (_org, who) => {
      const id = sessionUserId(who);
      if (id) await db().update(schema.users).set({ emailVerifiedAt: null }).where(eq(schema.users.id, id));
      return {};
    },
  },
  { route: 'trpc auth.requestPasswordReset', access: 'public', tenant: 'none', prepare: async () => ({ input: { email: (await standaloneUser()).email } }) },
  {
    route: 'trpc auth.resetPassword',
    access: 'public',
    tenant: 'none',
    prepare: async () => ({ input: { token: await userToken('reset_password'), password: strongPassword } }),
  },
  { route: 'trpc auth.signOutEverywhere', access: 'signed-in', tenant: 'none', prepare: async () => ({}) },
  // The operator's SSO configuration: the same for everyone.
  { route: 'trpc auth.providers', access: 'public', tenant: 'none', prepare: async () => ({}) },

  // --- organizations
  { route: 'trpc orgs.list', access: 'signed-in', tenant: 'list', prepare: async (org) => ({ shows: [org.name] }) },
  { route: 'trpc orgs.create', access: 'signed-in', tenant: 'none', prepare: async () => ({ input: { name: `matrix created ${hex()}` } }) },
  { route: 'trpc orgs.switch', access: 'signed-in', tenant: 'object', prepare: async (org) => ({ input: { orgId: org.orgId }, state: () => rowOf(schema.orgs, org.orgId) }) },
  {
    route: 'trpc orgs.rename',
    access: 'manage_org',
    tenant: 'none',
    freshOrg: true,
    prepare: async (org) => ({ input: { name: `matrix renamed ${hex()}` }, state: () => rowOf(schema.orgs, org.orgId) }),
  },
  {
    route: 'trpc orgs.transferOwnership',
    access: ownerOnly,
    tenant: 'object',
    freshOrg: true,
    prepare: async (org) => {
      const u = await org.newUser('member');
      return { input: { userId: u.id }, state: () => membershipsState(org.orgId) };
    },
  },
  {
    route: 'trpc orgs.delete',
    access: ownerOnly,
    tenant: 'none',
    freshOrg: true,
    // another organization's owner typing this organization's name deletes nothing: the name must be their own org's
    outsider: (o) => {
      assert.equal(o.code, 'BAD_REQUEST', o.text);
      assert.match(o.message ?? '', /type the organization's name exactly/);
    },
    prepare: async (org) => ({ input: { confirmName: org.name }, state: () => rowOf(schema.orgs, org.orgId) }),
  },

  // --- members
  { route: 'trpc members.list', access: 'read', tenant: 'list', prepare: async (org) => ({ shows: [org.users.viewer.email] }) },
  {
    route: 'trpc members.changeRole',
    access: 'manage_members',
    tenant: 'object',
    prepare: async (org) => {
      const u = await org.newUser('member');
      return { input: { userId: u.id, role: 'viewer' }, state: () => membershipState(org.orgId, u.id) };
    },
  },
  {
    route: 'trpc members.remove',
    access: 'manage_members',
    tenant: 'object',
    prepare: async (org) => {
      const u = await org.newUser('member');
      return { input: { userId: u.id }, state: () => membershipState(org.orgId, u.id) };
    },
  },
  {
    route: 'trpc members.leave',
    // every member may leave; an API key is no member
    access: { roles: ['owner', 'admin', 'member', 'viewer'], reason: /An API key cannot leave/ },
    tenant: 'none',
    freshOrg: true,
    // the only owner cannot leave (the organization would have none); everyone else can
    allowed: (o, who) => {
      if (who.kind === 'session' && who.role === 'owner') {
        assert.equal(o.code, 'CONFLICT', o.text);
        assert.match(o.message ?? '', /last owner/);
      } else assert.equal(o.status, 200, o.text);
    },
    prepare: async (org) => ({ state: () => membershipsState(org.orgId) }),
  },

  // --- invitations
  { route: 'trpc invitations.list', access: 'manage_members', tenant: 'list', prepare: async (org) => ({ shows: [(await org.newInvitation()).id] }) },
  {
    route: 'trpc invitations.create',
    access: 'manage_members',
    tenant: 'none',
    prepare: async () => ({ input: { email: `matrix-invitee-${hex()}@example.test`, role: 'member' } }),
  },
  {
    route: 'trpc invitations.revoke',
    access: 'manage_members',
    tenant: 'object',
    prepare: async (org) => {
      const i = await org.newInvitation();
      return { input: { id: i.id }, state: () => rowOf(schema.invitations, i.id) };
    },
  },
  {
    route: 'trpc invitations.get',
    access: 'public',
    tenant: 'none',
    // the link shows whoever holds it which organization invites whom, and who sent it
    prepare: async (org) => {
      const i = await org.newInvitation();
      return { input: { token: i.token }, reveals: [org.name, i.email, org.users.owner.email] };
    },
  },
  {
    route: 'trpc invitations.accept',
    access: 'signed-in',
    tenant: 'none',
    // holding another person's link is not enough: the signed-in address must be the invited one
    outsider: (o) => {
      assert.equal(o.code, 'FORBIDDEN', o.text);
      assert.match(o.message ?? '', /sent to a different e-mail address/);
    },
    prepare: async (org, who) => {
      if (isMember(org, who) && who.kind === 'session') {
        // a member of this organization accepts an invitation of another one, sent to them
        const inviter = await makeOrg('inviter');
        return { input: { token: (await inviter.newInvitation(who.email)).token } };
      }
      const i = await org.newInvitation();
      return { input: { token: i.token }, state: async () => ({ invitation: await rowOf(schema.invitations, i.id), members: await membershipsState(org.orgId) }) };
    },
  },

  // --- audit log
  { route: 'trpc audit.list', access: 'view_audit', tenant: 'list', prepare: async (org) => ({ input: {}, shows: await auditIds(org) }) },

  // --- datasets and their versions
  { route: 'trpc datasets.list', access: 'read', tenant: 'list', prepare: async (org) => ({ input: {}, shows: [(await datasetOf(org)).datasetId] }) },
  {
    route: 'trpc datasets.get',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const d = await datasetOf(org);
      return { input: { id: d.datasetId }, state: d.state };
    },
  },
  {
    route: 'trpc datasets.delete',
    access: 'upload',
    tenant: 'object',
    prepare: async (org) => {
      const d = await datasetOf(org, true);
      return { input: { id: d.datasetId }, state: d.state };
    },
  },
  {
    route: 'trpc datasets.preview',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const d = await datasetOf(org);
      return { input: { fileId: d.fileId }, state: d.state };
    },
  },
  {
    route: 'trpc datasets.estimate',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const d = await datasetOf(org);
      return { input: { fileId: d.fileId, baseModel: 'lfm2-tiny', epochs: 1 }, state: d.state };
    },
  },

  // --- resumable uploads (the bytes go through REST PUT /uploads/{id})
  { route: 'trpc uploads.create', access: 'upload', tenant: 'none', prepare: async () => ({ input: { filename: `matrix-${hex()}.jsonl`, size: 100 } }) },
  {
    route: 'trpc uploads.status',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const u = await uploadTarget(org);
      return { input: { id: u.id }, state: u.state };
    },
  },
  {
    route: 'trpc uploads.complete',
    access: 'upload',
    tenant: 'object',
    prepare: async (org) => {
      const u = await uploadTarget(org, true);
      return { input: { id: u.id }, state: u.state };
    },
  },
  {
    route: 'trpc uploads.abort',
    access: 'upload',
    tenant: 'object',
    prepare: async (org) => {
      const u = await uploadTarget(org);
      return { input: { id: u.id }, state: u.state };
    },
  },
];

export const restCases: RouteCase[] = [
  { route: 'rest GET /openapi.json', access: 'public', tenant: 'none', prepare: async () => ({ path: '/openapi.json' }) },
  { route: 'rest POST /files', access: 'upload', tenant: 'none', prepare: async () => ({ path: '/files', body: multipartFile() }) },
  { route: 'rest GET /files', access: 'read', tenant: 'list', prepare: listShowing(fileIds, { path: '/files' }) },
  { route: 'rest GET /files/{}', access: 'read', tenant: 'object', prepare: (org) => fileGet(org, (id) => ({ path: `/files/${id}` })) },
  { route: 'rest GET /files/{}/content', access: 'read', tenant: 'object', prepare: (org) => fileGet(org, (id) => ({ path: `/files/${id}/content` })) },
  { route: 'rest DELETE /files/{}', access: 'upload', tenant: 'object', prepare: (org) => fileDelete(org, (id) => ({ path: `/files/${id}` })) },
  { route: 'rest POST /jobs', access: 'train', tenant: 'object', allowed: stopsAtDevice, prepare: (org) => jobCreate(org, (id) => ({ path: '/jobs', ...json(jobBody(id)) })) },
  { route: 'rest GET /jobs', access: 'read', tenant: 'list', prepare: listShowing(jobIds, { path: '/jobs' }) },
  { route: 'rest GET /jobs/{}', access: 'read', tenant: 'object', prepare: (org) => jobGet(org, (id) => ({ path: `/jobs/${id}` })) },
  { route: 'rest GET /jobs/{}/events', access: 'read', tenant: 'object', prepare: (org) => jobGet(org, (id) => ({ path: `/jobs/${id}/events` })) },
  { route: 'rest POST /jobs/{}/cancel', access: 'train', tenant: 'object', prepare: (org) => jobCancel(org, (id) => ({ path: `/jobs/${id}/cancel` })) },
  { route: 'rest POST /jobs/estimate', access: 'train', tenant: 'object', allowed: stopsAtDevice, prepare: (org) => jobCreate(org, (id) => ({ path: '/jobs/estimate', ...json(jobBody(id)) })) },
  { route: 'rest GET /jobs/{}/cost', access: 'read', tenant: 'object', prepare: (org) => jobGet(org, (id) => ({ path: `/jobs/${id}/cost` })) },
  { route: 'rest GET /billing', access: 'manage_billing', tenant: 'none', prepare: async () => ({ path: '/billing' }) },
  { route: 'rest PATCH /billing', access: 'manage_billing', tenant: 'none', prepare: async () => ({ path: '/billing', ...json({ monthly_cap: 100 }) }) },
  { route: 'rest GET /billing/invoices', access: 'manage_billing', tenant: 'none', prepare: async () => ({ path: '/billing/invoices' }) },
  { route: 'rest POST /billing/checkout', access: 'manage_billing', tenant: 'none', allowed: billingOff, prepare: async () => ({ path: '/billing/checkout' }) },
  { route: 'rest POST /billing/portal', access: 'manage_billing', tenant: 'none', allowed: billingOff, prepare: async () => ({ path: '/billing/portal' }) },
  { route: 'rest GET /models', access: 'read', tenant: 'list', prepare: listShowing(modelNames, { path: '/models' }) },
  { route: 'rest GET /models/{}', access: 'download', tenant: 'object', prepare: async (org) => ({ path: `/models/${enc((await org.model()).name)}` }) },
  {
    route: 'rest GET /models/{}/variants/{}/download',
    access: 'download',
    tenant: 'object',
    prepare: async (org) => {
      const m = await org.model();
      return { path: `/models/${enc(m.name)}/variants/${m.variantId}/download` };
    },
  },
  {
    route: 'rest HEAD /models/{}/variants/{}/download',
    access: 'download',
    tenant: 'object',
    prepare: async (org) => {
      const m = await org.model();
      return { path: `/models/${enc(m.name)}/variants/${m.variantId}/download` };
    },
  },
  // The platform's hardware catalog: the same for every organization.
  { route: 'rest GET /devices', access: 'read', tenant: 'none', prepare: async () => ({ path: '/devices' }) },
  // Pools: the platform's (the same for everyone) and the organization's own.
  { route: 'rest GET /pools', access: 'read', tenant: 'list', prepare: async (org) => ({ path: '/pools', shows: [await newPool(org)] }) },
  { route: 'rest POST /pools', access: 'manage_pools', tenant: 'none', prepare: async () => ({ path: '/pools', ...json({ name: `matrix-${hex()}` }) }) },
  {
    route: 'rest GET /pools/{}',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const id = await newPool(org);
      return { path: `/pools/${id}`, state: poolState(id) };
    },
  },
  {
    route: 'rest DELETE /pools/{}',
    access: 'manage_pools',
    tenant: 'object',
    prepare: async (org) => {
      const id = await newPool(org);
      return { path: `/pools/${id}`, state: poolState(id) };
    },
  },
  {
    route: 'rest POST /pools/{}/token',
    access: 'manage_pools',
    tenant: 'object',
    prepare: async (org) => {
      const id = await newPool(org);
      return { path: `/pools/${id}/token`, state: poolState(id) };
    },
  },

  // Fleets
  { route: 'rest GET /fleets', access: 'read', tenant: 'list', prepare: async (org) => ({ path: '/fleets', shows: [(await newFleet(org)).id] }) },
  { route: 'rest POST /fleets', access: 'manage_fleets', tenant: 'none', prepare: async () => ({ path: '/fleets', ...json({ name: `matrix-${hex()}` }) }) },
  ...(
    [
      ['GET', '', 'read'],
      ['DELETE', '', 'manage_fleets'],
      ['POST', '/token', 'manage_fleets'],
      ['GET', '/devices', 'read'],
    ] as const
  ).map(
    ([method, tail, access]): RouteCase => ({
      route: `rest ${method} /fleets/{}${tail}`,
      access,
      tenant: 'object',
      prepare: async (org) => {
        const f = await newFleet(org);
        return { path: `/fleets/${f.id}${tail}`, state: f.state };
      },
    }),
  ),
  {
    route: 'rest POST /fleets/{}/releases',
    access: 'manage_fleets',
    tenant: 'object',
    prepare: async (org) => {
      const f = await newFleet(org);
      return { path: `/fleets/${f.id}/releases`, ...json({ model: (await org.model()).name }), state: f.state };
    },
  },
  {
    route: 'rest GET /fleets/{}/releases',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const r = await newRelease(org);
      return { path: `/fleets/${r.fleetId}/releases`, state: r.state };
    },
  },
  {
    route: 'rest GET /fleets/{}/releases/{}',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const r = await newRelease(org);
      return { path: `/fleets/${r.fleetId}/releases/${r.id}`, state: r.state };
    },
  },
  ...(['advance', 'pause', 'resume', 'rollback'] as const).map(
    (action): RouteCase => ({
      route: `rest POST /fleets/{}/releases/{}/${action}`,
      access: 'manage_fleets',
      tenant: 'object',
      // Rolling back the only release of a channel is a conflict: nothing to roll back to.
      allowed: okOrConflict,
      prepare: async (org) => {
        const r = await newRelease(org, action === 'resume' ? 'paused' : 'rolling');
        return { path: `/fleets/${r.fleetId}/releases/${r.id}/${action}`, state: r.state };
      },
    }),
  ),
  {
    route: 'rest POST /fleets/{}/root/rotate',
    access: 'manage_fleets',
    tenant: 'object',
    prepare: async (org) => {
      const f = await newFleet(org);
      const roots = async () => ({ ...(await f.state()), roots: await db().select({ v: schema.fleetTufRoots.version }).from(schema.fleetTufRoots).where(eq(schema.fleetTufRoots.fleetId, f.id)) });
      return { path: `/fleets/${f.id}/root/rotate`, state: roots };
    },
  },
  {
    route: 'rest POST /fleets/{}/devices/{}/revoke',
    access: 'manage_fleets',
    tenant: 'object',
    prepare: async (org) => {
      const f = await newFleet(org);
      return { path: `/fleets/${f.id}/devices/${f.deviceId}/revoke`, state: f.state };
    },
  },

  // --- identity
  { route: 'rest GET /me', access: 'any', tenant: 'none', prepare: async () => ({ path: '/me' }) },
  { route: 'rest GET /orgs/current/members', access: 'read', tenant: 'list', prepare: async (org) => ({ path: '/orgs/current/members', shows: [org.users.viewer.email] }) },
  {
    route: 'rest POST /orgs/current/invitations',
    access: 'manage_members',
    tenant: 'none',
    prepare: async () => ({ path: '/orgs/current/invitations', ...json({ email: `matrix-invitee-${hex()}@example.test`, role: 'member' }) }),
  },
  { route: 'rest GET /audit-events', access: 'view_audit', tenant: 'list', prepare: async (org) => ({ path: '/audit-events', shows: await auditIds(org) }) },
  {
    route: 'rest GET /audit-events/export',
    access: 'view_audit',
    tenant: 'list',
    prepare: async (org) => ({ path: '/audit-events/export?format=jsonl', shows: await auditIds(org) }),
  },

  // --- datasets
  { route: 'rest GET /datasets', access: 'read', tenant: 'list', prepare: async (org) => ({ path: '/datasets', shows: [(await datasetOf(org)).datasetId] }) },
  {
    route: 'rest GET /datasets/{}',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const d = await datasetOf(org);
      return { path: `/datasets/${d.datasetId}`, state: d.state };
    },
  },
  {
    route: 'rest DELETE /datasets/{}',
    access: 'upload',
    tenant: 'object',
    prepare: async (org) => {
      const d = await datasetOf(org, true);
      return { path: `/datasets/${d.datasetId}`, state: d.state };
    },
  },
  {
    route: 'rest GET /datasets/{}/versions',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const d = await datasetOf(org);
      return { path: `/datasets/${d.datasetId}/versions`, state: d.state };
    },
  },
  {
    route: 'rest GET /datasets/{}/versions/{}',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const d = await datasetOf(org);
      return { path: `/datasets/${d.datasetId}/versions/${d.fileId}`, state: d.state };
    },
  },
  {
    route: 'rest GET /datasets/{}/versions/{}/preview',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const d = await datasetOf(org);
      return { path: `/datasets/${d.datasetId}/versions/${d.fileId}/preview`, state: d.state };
    },
  },
  {
    route: 'rest GET /datasets/{}/versions/{}/estimate',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const d = await datasetOf(org);
      return { path: `/datasets/${d.datasetId}/versions/${d.fileId}/estimate?base_model=lfm2-tiny&epochs=1`, state: d.state };
    },
  },

  // --- resumable uploads
  { route: 'rest POST /uploads', access: 'upload', tenant: 'none', prepare: async () => ({ path: '/uploads', ...json({ filename: `matrix-${hex()}.jsonl`, size: 100 }) }) },
  {
    route: 'rest GET /uploads/{}',
    access: 'read',
    tenant: 'object',
    prepare: async (org) => {
      const u = await uploadTarget(org);
      return { path: `/uploads/${u.id}`, state: u.state };
    },
  },
  {
    route: 'rest PUT /uploads/{}',
    access: 'upload',
    tenant: 'object',
    prepare: async (org) => {
      const u = await uploadTarget(org);
      const n = u.bytes.length;
      return {
        path: `/uploads/${u.id}`,
        body: u.bytes.toString(),
        headers: { 'content-range': `bytes 0-${n - 1}/${n}`, 'content-type': 'application/octet-stream' },
        state: u.state,
      };
    },
  },
  {
    route: 'rest POST /uploads/{}/complete',
    access: 'upload',
    tenant: 'object',
    prepare: async (org) => {
      const u = await uploadTarget(org, true);
      return { path: `/uploads/${u.id}/complete`, state: u.state };
    },
  },
  {
    route: 'rest DELETE /uploads/{}',
    access: 'upload',
    tenant: 'object',
    prepare: async (org) => {
      const u = await uploadTarget(org);
      return { path: `/uploads/${u.id}`, state: u.state };
    },
  },
];

export const openaiCases: RouteCase[] = [
  { route: 'v1 POST /files', access: 'upload', tenant: 'none', prepare: async () => ({ path: '/files', body: multipartFile('fine-tune') }) },
  { route: 'v1 GET /files', access: 'read', tenant: 'list', prepare: listShowing(fileIds, { path: '/files' }) },
  { route: 'v1 GET /files/{}', access: 'read', tenant: 'object', prepare: (org) => fileGet(org, (id) => ({ path: `/files/${id}` })) },
  { route: 'v1 GET /files/{}/content', access: 'read', tenant: 'object', prepare: (org) => fileGet(org, (id) => ({ path: `/files/${id}/content` })) },
  { route: 'v1 DELETE /files/{}', access: 'upload', tenant: 'object', prepare: (org) => fileDelete(org, (id) => ({ path: `/files/${id}` })) },
  {
    route: 'v1 POST /fine_tuning/jobs',
    access: 'train',
    tenant: 'object',
    allowed: stopsAtDevice,
    prepare: (org) => jobCreate(org, (id) => ({ path: '/fine_tuning/jobs', ...json(jobBody(id)) })),
  },
  { route: 'v1 GET /fine_tuning/jobs', access: 'read', tenant: 'list', prepare: listShowing(jobIds, { path: '/fine_tuning/jobs' }) },
  { route: 'v1 GET /fine_tuning/jobs/{}', access: 'read', tenant: 'object', prepare: (org) => jobGet(org, (id) => ({ path: `/fine_tuning/jobs/${id}` })) },
  { route: 'v1 POST /fine_tuning/jobs/{}/cancel', access: 'train', tenant: 'object', prepare: (org) => jobCancel(org, (id) => ({ path: `/fine_tuning/jobs/${id}/cancel` })) },
  { route: 'v1 GET /fine_tuning/jobs/{}/events', access: 'read', tenant: 'object', prepare: (org) => jobGet(org, (id) => ({ path: `/fine_tuning/jobs/${id}/events` })) },
  {
    route: 'v1 GET /fine_tuning/jobs/{}/checkpoints',
    access: 'read',
    tenant: 'object',
    prepare: (org) => jobGet(org, (id) => ({ path: `/fine_tuning/jobs/${id}/checkpoints` })),
  },
  { route: 'v1 GET /models', access: 'read', tenant: 'list', prepare: listShowing(modelNames, { path: '/models' }) },
  { route: 'v1 GET /models/{}', access: 'download', tenant: 'object', prepare: async (org) => ({ path: `/models/${enc((await org.model()).name)}` }) },
];

export const routeCases: RouteCase[] = [...trpcCases, ...restCases, ...openaiCases];

/**
 * The Next.js route handlers of apps/web (folder below apps/web/app): the three adapters whose
 * routes are the cases above, and handlers that hold no tenant data, each with why. A handler not
 * named here fails the coverage test, so no route can bypass the adapters unnoticed.
 */
export const webRouteHandlers: Record<string, string> = {
  'api/trpc/[trpc]': 'the tRPC adapter: its procedures are the trpc cases',
  'api/v1/[...path]': 'the REST adapter: its routes are the rest cases',
  'v1/[...path]': 'the OpenAI-compatible adapter: its routes are the v1 cases',
  'api/auth/[...nextauth]': "next-auth's sign-in, sign-out and session endpoints: they act on the person signing in, not on tenant data",
  'api/health': 'the health check of the platform: no tenant data',
  'api/webhooks/stripe': "Stripe's webhook: authenticated by its signature, it answers only received/duplicate/applied and shows no tenant data (billing.integration.test.ts)",
};
