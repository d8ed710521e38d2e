import { z } from 'zod';
import { abortUpload, completeUpload, createUpload, getUpload, uploadStatusOf } from '../../datasets/uploads';
import { createTRPCRouter, orgProcedure } from '../procedures';
import { uploadResultView } from '../views';

/** Resumable uploads; the bytes themselves go to `PUT /api/v1/uploads/{id}` (Content-Range). */
export const uploadsRouter = createTRPCRouter({
  create: orgProcedure
    .input(
      z.object({
        filename: z.string(),
        size: z.number().int().min(0),
        purpose: z.string().nullish(),
        dataset: z.string().nullish(),
        format: z.string().nullish(),
        columns: z.record(z.string(), z.string()).nullish(),
        baseModel: z.string().nullish(),
      }),
    )
    .mutation(async ({ ctx, input }) => uploadStatusOf(await createUpload(ctx.caller, input))),
  status: orgProcedure.input(z.object({ id: z.string() })).query(({ ctx, input }) => getUpload(ctx.caller, input.id)),
  complete: orgProcedure.input(z.object({ id: z.string() })).mutation(async ({ ctx, input }) => uploadResultView(await completeUpload(ctx.caller, input.id))),
  abort: orgProcedure.input(z.object({ id: z.string() })).mutation(({ ctx, input }) => abortUpload(ctx.caller, input.id)),
});
