import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { createCaller, createTRPCContext } from '@edgetune/api';
import { getSessionUserId } from '@edgetune/auth';
import type { InvitationInfo } from '@/lib/types';
import { InviteView } from './invite-view';

export const metadata: Metadata = { title: 'Invitation · edgetune' };
export const dynamic = 'force-dynamic';

export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const uid = await getSessionUserId();
  const api = createCaller(await createTRPCContext({ sessionUserId: uid, headers: await headers() }));
  let info: InvitationInfo | null = null;
  let error: string | null = null;
  try {
    info = await api.invitations.get({ token });
  } catch (e) {
    error = e instanceof Error ? e.message : 'This invitation link is not valid.';
  }
  let email: string | null = null;
  if (uid) {
    try {
      email = (await api.me.get()).user?.email ?? null;
    } catch {
      email = null; // signed in but in no organization any more: the accept call says what is wrong
    }
  }
  return (
    <div className="auth-wrap">
      <InviteView token={token} info={info} error={error} signedIn={!!uid} signedInEmail={email} />
    </div>
  );
}
