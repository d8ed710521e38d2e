import { getServerSession, type NextAuthOptions } from 'next-auth';
import CredentialsImport from 'next-auth/providers/credentials';
import { authSecret } from '@edgetune/config';
import { verifyPassword } from './password';
import { findUserByEmail } from './users';

// next-auth ships CommonJS; under ESM the provider factory may arrive wrapped in `default`.
const Credentials = ((CredentialsImport as unknown as { default?: typeof CredentialsImport }).default ?? CredentialsImport) as typeof CredentialsImport;

/** Looks a user up by e-mail (case-insensitive) and checks the password; null when either fails. */
export async function authenticateUser(email: string, password: string): Promise<{ id: string; email: string; name: string | null } | null> {
  if (!email || !password) return null;
  const user = await findUserByEmail(email);
  if (!user || !user.passwordHash) {
    // Spend comparable time so the response does not reveal whether the e-mail exists.
    await verifyPassword('$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000', password);
    return null;
  }
  if (!(await verifyPassword(user.passwordHash, password))) return null;
  return { id: user.id, email: user.email, name: user.name };
}

export const authOptions: NextAuthOptions = {
  session: { strategy: 'jwt' },
  pages: { signIn: '/signin' },
  // Read lazily so that importing this module never requires the secret.
  get secret() {
    return authSecret();
  },
  providers: [
    Credentials({
      name: 'Email and password',
      credentials: {
        email: { label: 'Email', type: 'email' },
        password: { label: 'Password', type: 'password' },
      },
      async authorize(credentials) {
        const user = await authenticateUser(credentials?.email ?? '', credentials?.password ?? '');
        return user ? { id: user.id, email: user.email, name: user.name } : null;
      },
    }),
  ],
  callbacks: {
    async jwt({ token, user }) {
      if (user?.id) token.uid = user.id;
      return token;
    },
    async session({ session, token }) {
      const uid = (token.uid as string | undefined) ?? token.sub;
      if (session.user && uid) (session.user as { id?: string }).id = uid;
      return session;
    },
  },
};

/** The signed-in user's id in a route handler / server component, or null. */
export async function getSessionUserId(): Promise<string | null> {
  const session = await getServerSession(authOptions);
  return ((session?.user as { id?: string } | undefined)?.id as string | undefined) ?? null;
}
