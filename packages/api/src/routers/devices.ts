import { listDevices, listPools } from '../domain/devices';
import { createTRPCRouter, orgProcedure } from '../trpc';

export const devicesRouter = createTRPCRouter({
  list: orgProcedure.query(async () => {
    const [devices, pools] = await Promise.all([listDevices(), listPools()]);
    return { devices, pools: pools.map(({ fingerprint, ...p }) => ({ ...p, fingerprint })) };
  }),
});
