export * from './permissions';
export * from './password';
export * from './api-keys';
export { authOptions, authenticateUser, getSessionUserId } from './nextauth';
