import type { Metadata } from 'next';
import { SignUpForm } from './signup-form';

export const metadata: Metadata = { title: 'Sign up · edgetune' };

export default function SignUpPage() {
  return (
    <div className="auth-wrap">
      <SignUpForm />
    </div>
  );
}
