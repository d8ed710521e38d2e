import NextAuth from 'next-auth';
import { authOptions, setSsoAccountLinker } from '@edgetune/auth';
import { signInWithSso } from '@edgetune/api';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

// SSO sign-ins create users and organizations, which is domain code in packages/api (which
// depends on packages/auth); this is where the two meet.
setSsoAccountLinker(signInWithSso);

const handler = NextAuth(authOptions);

export { handler as GET, handler as POST };
