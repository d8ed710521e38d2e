export * from './permissions';
export * from './password';
export * from './api-keys';
export * from './users';
export { authOptions, authenticateUser, getSessionUserId } from './nextauth';
