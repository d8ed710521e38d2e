import { apiKeysRouter } from './routers/api-keys';
import { authRouter } from './routers/auth';
import { devicesRouter } from './routers/devices';
import { filesRouter } from './routers/files';
import { jobsRouter } from './routers/jobs';
import { meRouter } from './routers/me';
import { modelsRouter } from './routers/models';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  auth: authRouter,
  me: meRouter,
  apiKeys: apiKeysRouter,
  files: filesRouter,
  jobs: jobsRouter,
  models: modelsRouter,
  devices: devicesRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side caller (RSC, tests): `createCaller(await createTRPCContext(...))`. */
export const createCaller = createCallerFactory(appRouter);
