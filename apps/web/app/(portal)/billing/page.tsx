import type { Metadata } from 'next';
import { Billing } from './billing';

export const metadata: Metadata = { title: 'Billing · edgetune' };

export default async function BillingPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  // Stripe Checkout comes back here with ?checkout=success or ?checkout=cancelled.
  const { checkout } = await searchParams;
  return <Billing checkout={checkout === 'success' || checkout === 'cancelled' ? checkout : null} />;
}
