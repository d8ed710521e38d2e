export * from './orgs';
export * from './files';
export * from './jobs';
export * from './models';
export * from './platform';
export * from './fleets';
