import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@edgetune/api';

type Outputs = inferRouterOutputs<AppRouter>;
export type JobDetail = Outputs['jobs']['get'];
export type JobEvent = Outputs['jobs']['events']['data'][number];
export type ModelVersion = Outputs['models']['get'];
