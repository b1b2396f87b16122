// An experiment's stored report (`veripo experiment`): its Markdown rendered as React elements
// (headings, paragraphs, tables, code, the SVG figures it names), never as raw HTML.
import type { ReactNode } from 'react';
import type { ExperimentReport as Report } from '../../../shared/api';

/** **bold** and `code` inside a line. */
function inline(text: string): ReactNode[] {
  return text.split(/(\*\*[^*]+\*\*|`[^`]+`)/).map((part, i) => {
    if (part.startsWith('**') && part.endsWith('**') && part.length > 4) return <strong key={i}>{part.slice(2, -2)}</strong>;
    if (part.startsWith('`') && part.endsWith('`') && part.length > 2) return <code key={i}>{part.slice(1, -1)}</code>;
    return part;
  });
}

const cells = (row: string) => row.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());

export function ExperimentReport({ report }: { report: Report }) {
  const figures = new Map(report.figures.map((f) => [f.name, f.svg]));
  const lines = report.markdown.split('\n');
  const blocks: ReactNode[] = [];
  for (let i = 0; i < lines.length; ) {
    const line = lines[i]!;
    const key = blocks.length;
    if (line.startsWith('```')) {
      const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
      const stop = end < 0 ? lines.length : end;
      blocks.push(<pre key={key}>{lines.slice(i + 1, stop).join('\n')}</pre>);
      i = stop + 1;
    } else if (/^#{1,3} /.test(line)) {
      const level = line.indexOf(' ');
      const text = line.slice(level + 1);
      blocks.push(level === 1 ? <h2 key={key}>{text}</h2> : <h3 key={key}>{text}</h3>);
      i++;
    } else if (line.startsWith('|')) {
      const rows: string[] = [];
      while (i < lines.length && lines[i]!.startsWith('|')) rows.push(lines[i++]!);
      const [head, , ...body] = rows;
      blocks.push(
        <div className="table-wrap" key={key}>
          <table>
            <thead>
              <tr>{cells(head!).map((c, j) => <th key={j} scope="col">{inline(c)}</th>)}</tr>
            </thead>
            <tbody>
              {body.map((r, j) => (
                <tr key={j}>{cells(r).map((c, k) => <td key={k}>{inline(c)}</td>)}</tr>
              ))}
            </tbody>
          </table>
        </div>,
      );
    } else if (/^!\[[^\]]*\]\([^)]+\)$/.test(line)) {
      const m = /^!\[([^\]]*)\]\(([^)]+)\)$/.exec(line)!;
      const svg = figures.get(m[2]!);
      blocks.push(svg ? <img key={key} className="report-figure" alt={m[1]} src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`} /> : <p key={key} className="muted">missing figure {m[2]}</p>);
      i++;
    } else if (line.trim() === '') i++;
    else {
      const para: string[] = [];
      while (i < lines.length && lines[i]!.trim() !== '' && !/^(#|\||```|!\[)/.test(lines[i]!)) para.push(lines[i++]!);
      blocks.push(<p key={key}>{inline(para.join(' '))}</p>);
    }
  }
  return (
    <article aria-label="Experiment report" className="experiment-report">
      <p className="muted small">Written {new Date(report.created_at).toLocaleString()}</p>
      {blocks}
    </article>
  );
}
