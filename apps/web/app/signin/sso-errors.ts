/** Readable text for the `error` codes next-auth (and our SSO checks) put on /signin. */
const messages: Record<string, string> = {
  SsoEmailUnverified: 'Your identity provider has not verified your e-mail address, so it cannot be used to sign in here. Verify the address with the provider, then try again.',
  SsoNoEmail: 'Your identity provider did not share an e-mail address with edgetune. Allow access to your e-mail address and try again.',
  SsoFailed: 'Single sign-on could not be completed. Try again, or sign in with your e-mail and password.',
  OAuthSignin: 'Could not start single sign-on with the identity provider. Try again later.',
  OAuthCallback: 'The identity provider returned an answer that could not be verified. Try signing in again.',
  OAuthAccountNotLinked: 'This e-mail address is already linked to another sign-in method.',
  AccessDenied: 'Sign-in was refused.',
  Callback: 'Single sign-on could not be completed. Try again.',
  Configuration: 'Sign-in is misconfigured on this server; contact your administrator.',
  Verification: 'The sign-in link is no longer valid.',
};

export function ssoErrorText(code: string | undefined): string | null {
  if (!code || code === 'CredentialsSignin' || code === 'SessionRequired') return null;
  return messages[code] ?? 'Sign-in failed. Try again.';
}
