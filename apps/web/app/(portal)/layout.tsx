import type { ReactNode } from 'react';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { createCaller, createTRPCContext } from '@edgetune/api';
import { getSessionUserId } from '@edgetune/auth';
import { Nav } from '@/components/nav';
import { NoOrg } from '@/components/no-org';
import { VerifyEmailBanner } from '@/components/verify-email-banner';
import { MeProvider } from '@/lib/me';
import type { Me, OrgSummary } from '@/lib/types';

export const dynamic = 'force-dynamic';

/** Every portal page requires a session; the nav shows the caller's organizations. */
export default async function PortalLayout({ children }: { children: ReactNode }) {
  const uid = await getSessionUserId();
  if (!uid) redirect('/signin');
  const api = createCaller(await createTRPCContext({ sessionUserId: uid, headers: await headers() }));
  const [me, orgs] = await Promise.all([
    api.me.get().catch((): Me | null => null), // no organization (left or removed from all), or the org just went away
    api.orgs.list().catch((): OrgSummary[] | null => null),
  ]);
  const noOrg = !me && orgs !== null && orgs.length === 0;
  return (
    <MeProvider me={me}>
      <Nav orgName={me?.org.name ?? ''} email={me?.user?.email ?? null} orgs={orgs ?? []} />
      {me && me.user && !me.emailVerified && <VerifyEmailBanner email={me.user.email} />}
      <main className="main">{noOrg ? <NoOrg /> : children}</main>
    </MeProvider>
  );
}
