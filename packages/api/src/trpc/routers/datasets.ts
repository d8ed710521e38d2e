import { z } from 'zod';
import { deleteDataset, estimateVersion, getDataset, listDatasets, MAX_PREVIEW_RECORDS, previewVersion } from '../../datasets/datasets';
import { createTRPCRouter, orgProcedure } from '../procedures';
import { datasetDetailView, datasetSummaryView } from '../views';

export const datasetsRouter = createTRPCRouter({
  list: orgProcedure.input(z.object({ after: z.string().nullish(), limit: z.number().int().min(1).max(100).optional() }).optional()).query(async ({ ctx, input }) => {
    const page = await listDatasets(ctx.caller, input ?? {});
    return { data: page.data.map(datasetSummaryView), hasMore: page.hasMore };
  }),
  get: orgProcedure.input(z.object({ id: z.string() })).query(async ({ ctx, input }) => datasetDetailView(await getDataset(ctx.caller, input.id))),
  delete: orgProcedure.input(z.object({ id: z.string() })).mutation(({ ctx, input }) => deleteDataset(ctx.caller, input.id)),
  /** Records of a version's stored (normalized) JSONL, by record number. */
  preview: orgProcedure
    .input(z.object({ fileId: z.string(), offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(MAX_PREVIEW_RECORDS).default(20) }))
    .query(async ({ ctx, input }) => {
      const p = await previewVersion(ctx.caller, input.fileId, input);
      return { records: p.records, total: p.total, offset: p.offset, limit: p.limit, format: p.file.format };
    }),
  estimate: orgProcedure
    .input(z.object({ fileId: z.string(), baseModel: z.string(), epochs: z.number().int().min(1).max(50) }))
    .query(({ ctx, input }) => estimateVersion(ctx.caller, input.fileId, input)),
});
