/** The role × action matrix as data; `can()` is the only way code asks it. */
export const roles = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof roles)[number];

export const actions = [
  'read',
  'upload',
  'train',
  'publish',
  'manage_keys',
  'manage_members',
  'manage_billing',
  'manage_fleets',
] as const;
export type Action = (typeof actions)[number];

export const permissionMatrix: Record<Role, readonly Action[]> = {
  owner: ['read', 'upload', 'train', 'publish', 'manage_keys', 'manage_members', 'manage_billing', 'manage_fleets'],
  admin: ['read', 'upload', 'train', 'publish', 'manage_keys', 'manage_members', 'manage_fleets'],
  member: ['read', 'upload', 'train', 'publish'],
  viewer: ['read'],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

export function can(role: Role, action: Action): boolean {
  return permissionMatrix[role]?.includes(action) ?? false;
}

/** API key scopes and the actions each one allows (a key's role is bounded by its scopes). */
export const apiKeyScopes = ['read', 'train', 'publish', 'fleet', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export const scopeActions: Record<ApiKeyScope, readonly Action[]> = {
  read: ['read'],
  train: ['read', 'upload', 'train'],
  publish: ['read', 'publish'],
  fleet: ['read', 'manage_fleets'],
  admin: actions,
};

export function scopesAllow(scopes: readonly string[], action: Action): boolean {
  return scopes.some((s) => (scopeActions as Record<string, readonly Action[]>)[s]?.includes(action));
}
