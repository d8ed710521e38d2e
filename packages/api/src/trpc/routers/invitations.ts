import { z } from 'zod';
import { roles } from '@edgetune/auth';
import { acceptInvitation, createInvitation, getInvitation, listInvitations, revokeInvitation } from '../../identity/invitations';
import { createTRPCRouter, orgProcedure, protectedProcedure, publicProcedure, setActiveOrgCookie } from '../procedures';

export const invitationsRouter = createTRPCRouter({
  list: orgProcedure.query(({ ctx }) => listInvitations(ctx.caller)),
  /** E-mails a link `<PUBLIC_URL>/invite/<token>` valid for 7 days; the token is never returned. */
  create: orgProcedure.input(z.object({ email: z.string().max(320), role: z.enum(roles) })).mutation(({ ctx, input }) => createInvitation(ctx.caller, input)),
  revoke: orgProcedure.input(z.object({ id: z.string().max(200) })).mutation(({ ctx, input }) => revokeInvitation(ctx.caller, input.id)),
  get: publicProcedure.input(z.object({ token: z.string().max(200) })).query(({ input }) => getInvitation(input.token)),
  /** Joins the organization and makes it the active one. */
  accept: protectedProcedure.input(z.object({ token: z.string().max(200) })).mutation(async ({ ctx, input }) => {
    const r = await acceptInvitation(ctx.sessionUserId, input.token, ctx.meta);
    setActiveOrgCookie(ctx, r.org.id);
    return r;
  }),
});
