import { z } from 'zod';
import { apiKeyScopes } from '@edgetune/auth';
import { createApiKey, listApiKeys, revokeApiKey } from '../../identity/api-keys';
import { createTRPCRouter, orgProcedure } from '../procedures';

export const apiKeysRouter = createTRPCRouter({
  list: orgProcedure.input(z.object({ includeRevoked: z.boolean().optional() }).optional()).query(({ ctx, input }) => listApiKeys(ctx.caller, input ?? {})),
  /** The returned `key` is shown once; it cannot be read again. `expiresAt`: Date or ISO 8601 (a bare date = through that day, UTC). */
  create: orgProcedure
    .input(z.object({ name: z.string().min(1).max(100), scopes: z.array(z.enum(apiKeyScopes)).optional(), expiresAt: z.union([z.date(), z.string().max(40)]).nullish() }))
    .mutation(({ ctx, input }) => createApiKey(ctx.caller, input)),
  revoke: orgProcedure.input(z.object({ id: z.string() })).mutation(({ ctx, input }) => revokeApiKey(ctx.caller, input.id)),
});
