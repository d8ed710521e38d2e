import { apiKeysRouter } from './routers/api-keys';
import { auditRouter } from './routers/audit';
import { authRouter } from './routers/auth';
import { billingRouter } from './routers/billing';
import { datasetsRouter } from './routers/datasets';
import { devicesRouter } from './routers/devices';
import { filesRouter } from './routers/files';
import { fleetsRouter } from './routers/fleets';
import { invitationsRouter } from './routers/invitations';
import { jobsRouter } from './routers/jobs';
import { meRouter } from './routers/me';
import { membersRouter } from './routers/members';
import { modelsRouter } from './routers/models';
import { orgsRouter } from './routers/orgs';
import { poolsRouter } from './routers/pools';
import { uploadsRouter } from './routers/uploads';
import { createCallerFactory, createTRPCRouter } from './procedures';

export const appRouter = createTRPCRouter({
  auth: authRouter,
  me: meRouter,
  orgs: orgsRouter,
  members: membersRouter,
  invitations: invitationsRouter,
  audit: auditRouter,
  apiKeys: apiKeysRouter,
  files: filesRouter,
  datasets: datasetsRouter,
  uploads: uploadsRouter,
  jobs: jobsRouter,
  models: modelsRouter,
  devices: devicesRouter,
  pools: poolsRouter,
  fleets: fleetsRouter,
  billing: billingRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side caller (RSC, tests): `createCaller(await createTRPCContext(...))`. */
export const createCaller = createCallerFactory(appRouter);
