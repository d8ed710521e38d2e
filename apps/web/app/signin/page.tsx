import type { Metadata } from 'next';
import { SignInForm } from './signin-form';

export const metadata: Metadata = { title: 'Sign in · edgetune' };

export default function SignInPage() {
  return (
    <div className="auth-wrap">
      <SignInForm />
    </div>
  );
}
