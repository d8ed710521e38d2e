import { z } from 'zod';
import { cookieValue } from '@edgetune/auth';
import { callerForUser, ORG_COOKIE } from '../../context';
import { createOrg, deleteOrg, listOrgs, renameOrg, switchOrg, transferOwnership } from '../../identity/orgs';
import { createTRPCRouter, orgProcedure, protectedProcedure, setActiveOrgCookie } from '../procedures';

export const orgsRouter = createTRPCRouter({
  /** The user's organizations; `current` is the one this browser acts in. */
  list: protectedProcedure.query(async ({ ctx }) => {
    const caller = await callerForUser(ctx.sessionUserId, { orgId: cookieValue(ctx.headers, ORG_COOKIE) });
    return listOrgs(ctx.sessionUserId, caller?.orgId ?? null);
  }),
  /** The caller becomes its owner, and it becomes the active organization. */
  create: protectedProcedure.input(z.object({ name: z.string().max(200) })).mutation(async ({ ctx, input }) => {
    const org = await createOrg(ctx.sessionUserId, input.name, ctx.meta);
    setActiveOrgCookie(ctx, org.id);
    return org;
  }),
  switch: protectedProcedure.input(z.object({ orgId: z.string().max(200) })).mutation(async ({ ctx, input }) => {
    const org = await switchOrg(ctx.sessionUserId, input.orgId);
    setActiveOrgCookie(ctx, org.id);
    return org;
  }),
  rename: orgProcedure.input(z.object({ name: z.string().max(200) })).mutation(({ ctx, input }) => renameOrg(ctx.caller, input.name)),
  transferOwnership: orgProcedure.input(z.object({ userId: z.string().max(200) })).mutation(({ ctx, input }) => transferOwnership(ctx.caller, input.userId)),
  /** `confirmName` must equal the organization's name. */
  delete: orgProcedure.input(z.object({ confirmName: z.string().max(200) })).mutation(async ({ ctx, input }) => {
    const r = await deleteOrg(ctx.caller, input.confirmName);
    setActiveOrgCookie(ctx, null);
    return r;
  }),
});
