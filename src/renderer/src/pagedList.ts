// A long server-side list read in pages as rows come into view: the Rollouts and Pairs lists.
// A new query starts a new cache; answers to an older query are dropped.
import { useCallback, useEffect, useRef, useState } from 'react';

export interface PagedList<T> {
  total: number | null;
  error: Error | null;
  at(index: number): T | null;
  /** fetch the pages covering rows [start, end) */
  onRange(start: number, end: number): void;
  /** replace loaded rows in place (after a decision), without refetching */
  patch(update: (row: T) => T): void;
  reload(): void;
}

export function usePagedList<T>(key: string | null, fetchPage: (offset: number, limit: number) => Promise<{ total: number; rows: T[] }>, pageSize: number): PagedList<T> {
  const [total, setTotal] = useState<number | null>(null);
  const [pages, setPages] = useState<Map<number, T[]>>(new Map());
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);
  const inflight = useRef(new Set<number>());
  const generation = useRef(0);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;

  const loadPage = useCallback(
    (p: number) => {
      if (key == null || inflight.current.has(p)) return;
      inflight.current.add(p);
      const gen = generation.current;
      fetchRef.current(p * pageSize, pageSize).then(
        (res) => {
          if (gen !== generation.current) return;
          setTotal(res.total);
          setPages((prev) => new Map(prev).set(p, res.rows));
        },
        (err: Error) => gen === generation.current && setError(err),
      );
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [key, pageSize, tick],
  );

  useEffect(() => {
    generation.current++;
    inflight.current = new Set();
    setPages(new Map());
    setTotal(null);
    setError(null);
    loadPage(0);
  }, [loadPage]);

  const onRange = useCallback(
    (start: number, end: number) => {
      for (let p = Math.floor(start / pageSize); p <= Math.floor(Math.max(start, end - 1) / pageSize); p++) if (!pages.has(p)) loadPage(p);
    },
    [pages, loadPage, pageSize],
  );
  const at = useCallback((i: number) => pages.get(Math.floor(i / pageSize))?.[i % pageSize] ?? null, [pages, pageSize]);
  const patch = useCallback((update: (row: T) => T) => setPages((prev) => new Map([...prev].map(([p, rows]) => [p, rows.map(update)]))), []);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { total, error, at, onRange, patch, reload };
}
