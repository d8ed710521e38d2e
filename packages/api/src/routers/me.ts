import { me } from '../domain/accounts';
import { createTRPCRouter, orgProcedure } from '../trpc';

export const meRouter = createTRPCRouter({
  get: orgProcedure.query(({ ctx }) => me(ctx.caller)),
});
