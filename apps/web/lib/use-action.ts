'use client';
import { useState } from 'react';
import { errorMessage } from '@/lib/trpc';

/**
 * One button's action at a time: `busy` names the running one (to disable the others and label
 * it), `error` holds the last failure's message.
 */
export function useAction() {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  async function run(key: string, fn: () => Promise<void>): Promise<void> {
    setBusy(key);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  }
  return { busy, error, run };
}
