import { z } from 'zod';
import { createPool, deletePool, getPool, listPools, rotatePoolToken } from '../../pools/pools';
import { createTRPCRouter, orgProcedure } from '../procedures';

const byId = z.object({ id: z.string() });

export const poolsRouter = createTRPCRouter({
  /** The platform's pools and the caller's organization pools. */
  list: orgProcedure.query(({ ctx }) => listPools(ctx.caller)),
  get: orgProcedure.input(byId).query(({ ctx, input }) => getPool(ctx.caller, input.id)),
  /** Input is validated by the domain with contracts' createPoolSchema. The returned `enrollmentToken` is shown once. */
  create: orgProcedure.input(z.record(z.string(), z.unknown())).mutation(({ ctx, input }) => createPool(ctx.caller, input)),
  /** A new enrollment token (shown once); the old one stops working at once. */
  rotateToken: orgProcedure.input(byId).mutation(({ ctx, input }) => rotatePoolToken(ctx.caller, input.id)),
  delete: orgProcedure.input(byId).mutation(({ ctx, input }) => deletePool(ctx.caller, input.id)),
});
