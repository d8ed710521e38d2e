import type { Permission } from '@/lib/me';

/** The visible reason beside an action the caller's role may not take. */
export function DeniedReason({ permission, testid }: { permission: Permission; testid: string }) {
  if (permission.allowed) return null;
  return (
    <span className="denied" data-testid={testid} title={permission.reason ?? undefined}>
      {permission.reason ?? 'Your role does not allow this.'}
    </span>
  );
}
