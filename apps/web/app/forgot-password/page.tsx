import type { Metadata } from 'next';
import { ForgotPasswordForm } from './forgot-password-form';

export const metadata: Metadata = { title: 'Forgot password · edgetune' };

export default function ForgotPasswordPage() {
  return (
    <div className="auth-wrap">
      <ForgotPasswordForm />
    </div>
  );
}
