'use client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from './trpc';

export interface Polled<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => Promise<void>;
}

/**
 * Loads `fn` now and, while `intervalMs` is a number, again every `intervalMs`.
 * A failed poll keeps the last good data and reports the error.
 */
export function usePoll<F extends () => PromiseLike<unknown>>(fn: F, intervalMs: number | null, deps: unknown[] = []): Polled<Awaited<ReturnType<F>>> {
  type T = Awaited<ReturnType<F>>;
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const alive = useRef(true);

  const reload = useCallback(async () => {
    try {
      const v = (await fnRef.current()) as T;
      if (!alive.current) return;
      setData(v);
      setError(null);
    } catch (e) {
      if (alive.current) setError(errorMessage(e));
    } finally {
      if (alive.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    alive.current = true;
    void reload();
    return () => {
      alive.current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  useEffect(() => {
    if (intervalMs == null) return;
    let timer: ReturnType<typeof setTimeout>;
    let stopped = false;
    const tick = async () => {
      await reload();
      if (!stopped) timer = setTimeout(tick, intervalMs);
    };
    timer = setTimeout(tick, intervalMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [intervalMs, reload]);

  return { data, error, loading, reload };
}
