import { listDevices, listPools } from '../domain/devices';
import { createTRPCRouter, orgProcedure } from '../trpc';

export const devicesRouter = createTRPCRouter({
  list: orgProcedure.query(async () => {
    const pools = await listPools();
    return { devices: await listDevices(pools), pools };
  }),
});
