import { me } from '../../identity/accounts';
import { createTRPCRouter, orgProcedure } from '../procedures';

export const meRouter = createTRPCRouter({
  get: orgProcedure.query(({ ctx }) => me(ctx.caller)),
});
