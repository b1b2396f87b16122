// A windowed list: only the rows in view (plus a margin) are in the DOM, so 10 000 items
// scroll as smoothly as 10. Rows have one fixed height; the parent pages data in by index.
import { useEffect, useRef, useState, type ReactNode } from 'react';

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  height: number | string;
  /** render row i; return null while its data is not loaded yet */
  renderRow: (index: number) => ReactNode;
  /** called with the visible index range so the parent can fetch pages */
  onRange?: (start: number, end: number) => void;
  overscan?: number;
  label: string;
  /** keep this row in view (keyboard navigation moves it) */
  focusIndex?: number | null;
}

export function VirtualList({ count, rowHeight, height, renderRow, onRange, overscan = 4, label, focusIndex }: VirtualListProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    setViewport(el.clientHeight);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    const el = ref.current;
    if (!el || focusIndex == null || focusIndex < 0) return;
    const top = focusIndex * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = top + rowHeight - el.clientHeight;
  }, [focusIndex, rowHeight]);
  const start = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  useEffect(() => {
    onRange?.(start, end);
  }, [start, end, onRange]);
  const rows: ReactNode[] = [];
  for (let i = start; i < end; i++) {
    rows.push(
      <div key={i} role="listitem" className="vrow" style={{ position: 'absolute', top: i * rowHeight, height: rowHeight, left: 0, right: 0 }}>
        {renderRow(i) ?? <div className="muted vplaceholder">…</div>}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      className="vlist"
      role="list"
      aria-label={label}
      aria-rowcount={count}
      style={{ height, overflowY: 'auto', position: 'relative' }}
      onScroll={(e) => setScrollTop((e.target as HTMLDivElement).scrollTop)}
    >
      <div style={{ height: count * rowHeight, position: 'relative' }}>{rows}</div>
    </div>
  );
}
