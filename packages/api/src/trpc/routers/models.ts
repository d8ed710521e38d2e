import { z } from 'zod';
import { baseModels } from '@edgetune/contracts';
import { getModelVersion, listModelVersions } from '../../models/models';
import { createTRPCRouter, orgProcedure } from '../procedures';
import { versionView } from '../views';

export const modelsRouter = createTRPCRouter({
  /** Base models of the catalog and the org's published fine-tuned versions. */
  list: orgProcedure.query(async ({ ctx }) => {
    const versions = await listModelVersions(ctx.caller);
    return { baseModels, versions: versions.map((v) => versionView(v.version, v.variants)) };
  }),
  /** A version by its fine_tuned_model name. */
  get: orgProcedure.input(z.object({ name: z.string() })).query(async ({ ctx, input }) => {
    const v = await getModelVersion(ctx.caller, input.name);
    return versionView(v.version, v.variants);
  }),
});
