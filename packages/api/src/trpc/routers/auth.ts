import { z } from 'zod';
import { ssoProviderInfo } from '@edgetune/auth';
import { resendVerification, registerAccount, requestPasswordReset, resetPassword, signOutEverywhere, verifyEmail } from '../../identity/self-service';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../procedures';

export const authRouter = createTRPCRouter({
  /** Creates the account and its organization and e-mails a verification link. */
  signUp: publicProcedure
    .input(z.object({ email: z.string().max(400), password: z.string().max(2000), name: z.string().max(100).nullish(), orgName: z.string().max(100).nullish() }))
    .mutation(({ ctx, input }) => registerAccount(input, ctx.meta)),
  verifyEmail: publicProcedure.input(z.object({ token: z.string().max(200) })).mutation(({ input }) => verifyEmail(input.token)),
  resendVerification: protectedProcedure.mutation(({ ctx }) => resendVerification(ctx.sessionUserId)),
  /** Always `{ ok: true }`: the answer does not tell whether the address has an account. */
  requestPasswordReset: publicProcedure.input(z.object({ email: z.string().max(320) })).mutation(({ ctx, input }) => requestPasswordReset(input.email, ctx.meta)),
  resetPassword: publicProcedure
    .input(z.object({ token: z.string().max(200), password: z.string().max(2000) }))
    .mutation(({ ctx, input }) => resetPassword(input.token, input.password, ctx.meta)),
  signOutEverywhere: protectedProcedure.mutation(({ ctx }) => signOutEverywhere(ctx.sessionUserId, ctx.meta)),
  /** The SSO providers the operator configured (`[{ id, name }]`): what a sign-in page offers. */
  providers: publicProcedure.query(() => ssoProviderInfo()),
});
