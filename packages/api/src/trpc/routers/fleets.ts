import { z } from 'zod';
import { createFleet, deleteFleet, getFleet, listFleetDevices, listFleets, revokeDevice, rotateFleetToken } from '../../fleets/fleets';
import { createTRPCRouter, orgProcedure } from '../procedures';

const byId = z.object({ id: z.string() });

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
});
