import { getServerSession, type NextAuthOptions } from 'next-auth';
import CredentialsImport from 'next-auth/providers/credentials';
import { authSecret } from '@edgetune/config';
import { requestMeta } from './request';
import { sessionClaimsFor, validSessionUserId } from './sessions';
import { passwordSignIn } from './signin';
import { ssoProviders, ssoSignIn } from './sso';

export { authenticateUser } from './users';

// next-auth ships CommonJS; under ESM the provider factory may arrive wrapped in `default`.
const Credentials = ((CredentialsImport as unknown as { default?: typeof CredentialsImport }).default ?? CredentialsImport) as typeof CredentialsImport;

export const authOptions: NextAuthOptions = {
  session: { strategy: 'jwt' },
  // Refused sign-ins (e.g. an SSO e-mail the provider did not verify) come back to the form with `?error=`.
  pages: { signIn: '/signin', error: '/signin' },
  // Read lazily so that importing this module never requires the secret.
  get secret() {
    return authSecret();
  },
  // A getter: the SSO providers come from configuration, which importing this module must not load.
  get providers() {
    return [
      Credentials({
        name: 'Email and password',
        credentials: {
          email: { label: 'Email', type: 'email' },
          password: { label: 'Password', type: 'password' },
        },
        // Lockouts throw: next-auth hands the message to the sign-in form as `error`.
        async authorize(credentials, req) {
          const user = await passwordSignIn(credentials?.email ?? '', credentials?.password ?? '', requestMeta(req?.headers));
          return user ? { id: user.id, email: user.email, name: user.name } : null;
        },
      }),
      ...ssoProviders(),
    ];
  },
  callbacks: {
    // OAuth sign-ins: links the external account to our user and points `user.id` at it.
    signIn: ssoSignIn,
    // `user` is present only at sign-in (any provider): the token remembers the sessionVersion.
    async jwt({ token, user }) {
      if (user?.id) Object.assign(token, (await sessionClaimsFor(user.id)) ?? { uid: user.id });
      return token;
    },
    // Every session read checks the token against users.session_version; an empty object is
    // "no session" to both getServerSession and the browser client.
    async session({ session, token }) {
      const uid = await validSessionUserId({ uid: token.uid ?? token.sub, sv: token.sv });
      if (!uid) return {} as typeof session;
      if (session.user) (session.user as { id?: string }).id = uid;
      return session;
    },
  },
};

/** The signed-in user's id in a route handler / server component, or null. */
export async function getSessionUserId(): Promise<string | null> {
  const session = await getServerSession(authOptions);
  return ((session?.user as { id?: string } | undefined)?.id as string | undefined) ?? null;
}
