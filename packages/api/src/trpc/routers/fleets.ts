import { z } from 'zod';
import { createFleet, deleteFleet, getFleet, listFleetDevices, listFleets, revokeDevice, rotateFleetRoot, rotateFleetToken } from '../../fleets/fleets';
import { advanceRelease, createRelease, listReleases, pauseRelease, resumeRelease, rollbackRelease } from '../../fleets/releases';
import { createTRPCRouter, orgProcedure } from '../procedures';

const byId = z.object({ id: z.string() });
const release = z.object({ fleetId: z.string(), releaseId: z.string() });

export const fleetsRouter = createTRPCRouter({
  /** The caller's organization's fleets with their device counts and installed versions. */
  list: orgProcedure.query(({ ctx }) => listFleets(ctx.caller)),
  get: orgProcedure.input(byId).query(({ ctx, input }) => getFleet(ctx.caller, input.id)),
  /** Input is validated by the domain with contracts' createFleetSchema. The returned `enrollmentToken` is shown once. */
  create: orgProcedure.input(z.record(z.string(), z.unknown())).mutation(({ ctx, input }) => createFleet(ctx.caller, input)),
  /** A new enrollment token (shown once); the old one stops enrolling at once. Enrolled devices keep their own tokens. */
  rotateToken: orgProcedure.input(byId).mutation(({ ctx, input }) => rotateFleetToken(ctx.caller, input.id)),
  delete: orgProcedure.input(byId).mutation(({ ctx, input }) => deleteFleet(ctx.caller, input.id)),
  /** A fleet's devices by name; `after` is the last name of the previous page. */
  devices: orgProcedure
    .input(z.object({ fleetId: z.string(), limit: z.number().int().min(1).max(1000).optional(), after: z.string().nullish() }))
    .query(({ ctx, input }) => listFleetDevices(ctx.caller, input.fleetId, { limit: input.limit, after: input.after })),
  /** The device's token is refused from its next request on. */
  revokeDevice: orgProcedure.input(z.object({ fleetId: z.string(), deviceId: z.string() })).mutation(({ ctx, input }) => revokeDevice(ctx.caller, input.fleetId, input.deviceId)),
  /** A fleet's releases, newest first, with each step's devices, reports and failure rate. */
  releases: orgProcedure.input(z.object({ fleetId: z.string() })).query(async ({ ctx, input }) => (await listReleases(ctx.caller, input.fleetId)).data),
  /** `release` is validated by the domain with contracts' createReleaseSchema. */
  createRelease: orgProcedure
    .input(z.object({ fleetId: z.string(), release: z.record(z.string(), z.unknown()) }))
    .mutation(({ ctx, input }) => createRelease(ctx.caller, input.fleetId, input.release)),
  advanceRelease: orgProcedure.input(release).mutation(({ ctx, input }) => advanceRelease(ctx.caller, input.fleetId, input.releaseId)),
  pauseRelease: orgProcedure.input(release).mutation(({ ctx, input }) => pauseRelease(ctx.caller, input.fleetId, input.releaseId)),
  resumeRelease: orgProcedure.input(release).mutation(({ ctx, input }) => resumeRelease(ctx.caller, input.fleetId, input.releaseId)),
  /** A new, higher release of the model the channel had before, to every device. */
  rollbackRelease: orgProcedure.input(release).mutation(({ ctx, input }) => rollbackRelease(ctx.caller, input.fleetId, input.releaseId)),
  rotateRoot: orgProcedure.input(byId).mutation(({ ctx, input }) => rotateFleetRoot(ctx.caller, input.id)),
});
