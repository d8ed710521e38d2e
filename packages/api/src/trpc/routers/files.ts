import { z } from 'zod';
import { deleteFile, getFile, listFiles } from '../../datasets/files';
import { createTRPCRouter, orgProcedure } from '../procedures';
import { fileView } from '../views';

/** Uploads go through POST /api/v1/files (multipart, streamed); tRPC lists and manages them. */
export const filesRouter = createTRPCRouter({
  list: orgProcedure
    .input(z.object({ after: z.string().nullish(), limit: z.number().int().min(1).max(1000).optional(), purpose: z.string().nullish() }).optional())
    .query(async ({ ctx, input }) => {
      const page = await listFiles(ctx.caller, input ?? {});
      return { data: page.data.map(fileView), hasMore: page.hasMore };
    }),
  get: orgProcedure.input(z.object({ id: z.string() })).query(async ({ ctx, input }) => fileView(await getFile(ctx.caller, input.id))),
  delete: orgProcedure.input(z.object({ id: z.string() })).mutation(({ ctx, input }) => deleteFile(ctx.caller, input.id)),
});
