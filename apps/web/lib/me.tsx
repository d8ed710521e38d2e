'use client';
import { createContext, useContext, type ReactNode } from 'react';
import type { Action } from '@edgetune/auth/permissions';
import type { Me } from './types';

/** The signed-in caller as the portal layout loaded it (null when it could not be loaded). */
const MeContext = createContext<Me | null>(null);

export function MeProvider({ me, children }: { me: Me | null; children: ReactNode }) {
  return <MeContext.Provider value={me}>{children}</MeContext.Provider>;
}

export function useMe(): Me | null {
  return useContext(MeContext);
}

export interface Permission {
  allowed: boolean;
  /** Why not, in words fit for the user; null when allowed. */
  reason: string | null;
}

/**
 * Whether the caller may do `action`, with the server's reason when not. Unknown (me not loaded):
 * allowed, so the server's own refusal is what the user sees.
 */
export function usePermission(action: Action | string): Permission {
  const me = useMe();
  const p = (me?.permissions as Record<string, Permission | undefined> | undefined)?.[action];
  return p ?? { allowed: true, reason: null };
}
