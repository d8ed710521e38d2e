import type { ReactNode } from 'react';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { createCaller, createTRPCContext } from '@edgetune/api';
import { getSessionUserId } from '@edgetune/auth';
import { Nav } from '@/components/nav';

export const dynamic = 'force-dynamic';

/** Every portal page requires a session; the nav shows the caller's organization. */
export default async function PortalLayout({ children }: { children: ReactNode }) {
  const uid = await getSessionUserId();
  if (!uid) redirect('/signin');
  let who: { orgName: string; email: string | null } | null = null;
  try {
    const me = await createCaller(await createTRPCContext({ sessionUserId: uid, headers: await headers() })).me.get();
    who = { orgName: me.org.name, email: me.user?.email ?? null };
  } catch {
    who = null; // e.g. a session whose user was removed; pages show the api's error
  }
  return (
    <>
      <Nav orgName={who?.orgName ?? ''} email={who?.email ?? null} />
      <main className="main">{children}</main>
    </>
  );
}
