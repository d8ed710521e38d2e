export * from './jobs/records';
export * from './devices/pools';
export * from './jobs/usage';
export * from './models/publish';
export * from './jobs/reconcile';
export * from './pools/tasks';
export { advanceDueRollouts } from './fleets/releases';
export { settleBilling } from './billing/metering';
export { capReachedWhileTraining } from './billing/estimate';
