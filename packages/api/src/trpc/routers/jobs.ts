import { z } from 'zod';
import { describeJobEvent } from '@edgetune/contracts';
import { cancelJob, createJob, estimateJob, getJob, getJobCost, listJobEvents, listJobs } from '../../jobs/jobs';
import { createTRPCRouter, orgProcedure } from '../procedures';
import { jobDetailView, jobSummaryView } from '../views';

const page = z.object({ after: z.string().nullish(), limit: z.number().int().min(1).max(100).optional() });

export const jobsRouter = createTRPCRouter({
  /** Input is validated by the domain with contracts' createJobSchema (OpenAI-style field names). */
  create: orgProcedure.input(z.record(z.string(), z.unknown())).mutation(async ({ ctx, input }) => jobDetailView(await createJob(ctx.caller, input))),
  /** What the job would cost (tokens, time, cost in US cents, the cap); same input as create. */
  estimate: orgProcedure.input(z.record(z.string(), z.unknown())).mutation(({ ctx, input }) => estimateJob(ctx.caller, input)),
  /** The actual cost so far as line items (US cents), with the job's credit. */
  cost: orgProcedure.input(z.object({ id: z.string() })).query(({ ctx, input }) => getJobCost(ctx.caller, input.id)),
  list: orgProcedure.input(page.optional()).query(async ({ ctx, input }) => {
    const r = await listJobs(ctx.caller, input ?? {});
    return { data: r.data.map(jobSummaryView), hasMore: r.hasMore };
  }),
  get: orgProcedure.input(z.object({ id: z.string() })).query(async ({ ctx, input }) => jobDetailView(await getJob(ctx.caller, input.id))),
  events: orgProcedure
    .input(z.object({ id: z.string(), after: z.string().nullish(), limit: z.number().int().min(1).max(1000).optional() }))
    .query(async ({ ctx, input }) => {
      const r = await listJobEvents(ctx.caller, input.id, input);
      return {
        data: r.data.map((e) => ({ id: e.id, seq: e.seq, level: e.level, type: e.type, message: describeJobEvent(e), data: e.data ?? null, createdAt: e.createdAt })),
        hasMore: r.hasMore,
      };
    }),
  cancel: orgProcedure.input(z.object({ id: z.string() })).mutation(async ({ ctx, input }) => jobDetailView(await cancelJob(ctx.caller, input.id))),
});
