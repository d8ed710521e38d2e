/** The role × action matrix as data; `can()` is the only way code asks it. */
export const roles = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof roles)[number];

export const actions = [
  'read',
  'download',
  'upload',
  'train',
  'publish',
  'manage_keys',
  'manage_members',
  'manage_billing',
  'manage_fleets',
  'manage_pools',
  'manage_org',
  'view_audit',
] as const;
export type Action = (typeof actions)[number];

export const permissionMatrix: Record<Role, readonly Action[]> = {
  owner: ['read', 'download', 'upload', 'train', 'publish', 'manage_keys', 'manage_members', 'manage_billing', 'manage_fleets', 'manage_pools', 'manage_org', 'view_audit'],
  admin: ['read', 'download', 'upload', 'train', 'publish', 'manage_keys', 'manage_members', 'manage_fleets', 'manage_pools', 'manage_org', 'view_audit'],
  member: ['read', 'download', 'upload', 'train', 'publish'],
  viewer: ['read', 'download'],
};

/** What each action lets a person do, as the end of "Your role … cannot …". */
export const actionDescriptions: Record<Action, string> = {
  read: "view this organization's data",
  download: 'download published models',
  upload: 'upload files or datasets',
  train: 'launch or cancel jobs',
  publish: 'publish models',
  manage_keys: 'manage API keys',
  manage_members: 'invite, remove or change the role of members',
  manage_billing: 'manage billing',
  manage_fleets: 'manage fleets',
  manage_pools: 'create, revoke or delete device pools',
  manage_org: 'rename or manage the organization',
  view_audit: 'view the audit log',
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

export function can(role: Role, action: Action): boolean {
  return permissionMatrix[role]?.includes(action) ?? false;
}

const article = (role: Role) => (role === 'owner' || role === 'admin' ? 'an' : 'a');

/**
 * Why `role` may not do `action` (shown in server errors and next to disabled buttons), or null
 * when it may: "Your role 'viewer' cannot launch or cancel jobs; ask an owner or admin."
 */
export function denyReason(role: Role, action: Action): string | null {
  if (can(role, action)) return null;
  // Whom to ask: those who may both do it and grant a role that does it.
  const allowed = roles.filter((r) => can(r, action) && can(r, 'manage_members'));
  const ask = allowed.length ? `; ask ${article(allowed[0])} ${allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}` : allowed[0]}` : '';
  return `Your role '${role}' cannot ${actionDescriptions[action] ?? action}${ask}.`;
}

/** API key scopes and the actions each one allows (a key's role is bounded by its scopes). */
/** `download`: published models' manifests and files only, the key a device or a fleet's server holds. */
export const apiKeyScopes = ['read', 'download', 'train', 'publish', 'fleet', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export const scopeActions: Record<ApiKeyScope, readonly Action[]> = {
  read: ['read', 'download'],
  download: ['download'],
  train: ['read', 'download', 'upload', 'train'],
  publish: ['read', 'download', 'publish'],
  fleet: ['read', 'download', 'manage_fleets'],
  admin: actions,
};

/**
 * The role an API key acts with: 'admin' when one of its scopes grants what a member may not do
 * (the `admin` scope; `fleet`, which manages fleets), 'member' otherwise. Its scopes bound it
 * further, and only owners and admins create keys, so a key never exceeds its creator.
 */
export function apiKeyRole(scopes: readonly string[]): 'admin' | 'member' {
  return scopes.some((s) => (scopeActions as Record<string, readonly Action[]>)[s]?.some((a) => !can('member', a))) ? 'admin' : 'member';
}

export function scopesAllow(scopes: readonly string[], action: Action): boolean {
  return scopes.some((s) => (scopeActions as Record<string, readonly Action[]>)[s]?.includes(action));
}

/** Why an API key with `scopes` may not do `action`, or null when it may. */
export function scopeDenyReason(scopes: readonly string[], action: Action): string | null {
  if (scopesAllow(scopes, action)) return null;
  const needed = apiKeyScopes.filter((s) => scopeActions[s].includes(action) && s !== 'admin');
  const hint = needed.length ? needed.map((s) => `'${s}'`).join(' or ') : "'admin'";
  return `This API key's scopes (${scopes.join(', ') || 'none'}) do not allow it to ${actionDescriptions[action] ?? action}; use a key with the ${hint} scope.`;
}
