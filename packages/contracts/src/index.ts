export * from './ids';
export * from './errors';
export * from './datasets';
export * from './dataset-docs';
export * from './models';
export * from './devices';
export * from './jobs';
export * from './manifest';
