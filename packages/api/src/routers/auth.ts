import { z } from 'zod';
import { signUp } from '../domain/accounts';
import { createTRPCRouter, publicProcedure } from '../trpc';

export const authRouter = createTRPCRouter({
  signUp: publicProcedure
    .input(z.object({ email: z.string(), password: z.string(), name: z.string().max(100).nullish(), orgName: z.string().max(100).nullish() }))
    .mutation(({ input }) => signUp(input)),
});
