export * from './jobs';
export * from './pools';
export * from './usage';
export * from './publish';
export * from './reconcile';
