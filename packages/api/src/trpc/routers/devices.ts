import { listDevices, listPools } from '../../devices/devices';
import { createTRPCRouter, orgProcedure } from '../procedures';

export const devicesRouter = createTRPCRouter({
  list: orgProcedure.query(async () => {
    const pools = await listPools();
    return { devices: await listDevices(pools), pools };
  }),
});
