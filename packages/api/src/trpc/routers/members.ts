import { z } from 'zod';
import { roles } from '@edgetune/auth';
import { changeRole, leaveOrg, listMembers, removeMember } from '../../identity/members';
import { createTRPCRouter, orgProcedure, setActiveOrgCookie } from '../procedures';

export const membersRouter = createTRPCRouter({
  list: orgProcedure.query(({ ctx }) => listMembers(ctx.caller)),
  changeRole: orgProcedure.input(z.object({ userId: z.string().max(200), role: z.enum(roles) })).mutation(({ ctx, input }) => changeRole(ctx.caller, input.userId, input.role)),
  remove: orgProcedure.input(z.object({ userId: z.string().max(200) })).mutation(({ ctx, input }) => removeMember(ctx.caller, input.userId)),
  leave: orgProcedure.mutation(async ({ ctx }) => {
    const r = await leaveOrg(ctx.caller);
    setActiveOrgCookie(ctx, null);
    return r;
  }),
});
