import { z } from 'zod';
import { listAudit } from '../../identity/audit';
import { createTRPCRouter, orgProcedure } from '../procedures';

export const auditRouter = createTRPCRouter({
  /** Newest first; pass `nextCursor` as `before` for the next page. Owners and admins. */
  list: orgProcedure
    .input(z.object({ limit: z.number().int().min(1).max(200).optional(), before: z.number().int().positive().nullish(), action: z.string().max(500).nullish() }).optional())
    .query(({ ctx, input }) => listAudit(ctx.caller, input ?? {})),
});
