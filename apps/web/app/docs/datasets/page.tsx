import type { Metadata } from 'next';
import Link from 'next/link';
import { loadConfig } from '@edgetune/config';
import { datasetApiDocs, datasetFormatDocs, datasetGeneralRules, type DatasetFormatDoc, type DocTable } from '@edgetune/contracts';

export const metadata: Metadata = { title: 'Dataset formats · edgetune' };
// The API examples name this server's public address, which is configured at run time.
export const dynamic = 'force-dynamic';

/** `code` spans in the guide's plain text (written with backticks). */
function Text({ children }: { children: string }) {
  const parts = children.split('`');
  return <>{parts.map((p, i) => (i % 2 === 1 ? <code key={i}>{p}</code> : p))}</>;
}

function Table({ table, testid }: { table: DocTable; testid: string }) {
  return (
    <div className="table-wrap">
      <table data-testid={testid}>
        <thead>
          <tr>
            {table.head.map((h) => (
              <th key={h}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map((r) => (
            <tr key={r[0]}>
              <td>
                <code>{r[0]}</code>
              </td>
              <td>{r[1]}</td>
              <td>{r[2]}</td>
              <td>{r[3]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const py = (v: unknown): string => JSON.stringify(v);

function ColumnMapping({ id, columns }: { id: string; columns: Record<string, string> }) {
  return (
    <>
      <p>
        Column mapping to send as <code>columns</code>:
      </p>
      <pre className="json" data-testid={`docs-mapping-${id}`}>
        {JSON.stringify(columns)}
      </pre>
    </>
  );
}

function Example({ doc }: { doc: DatasetFormatDoc }) {
  const ex = doc.example;
  const testid = `docs-example-${doc.id}`;
  if (ex.kind === 'text') {
    return (
      <>
        <h3>
          Example: <code>{ex.filename}</code> ({ex.expect.examples} examples)
        </h3>
        <pre className="json" data-testid={testid}>
          {ex.content}
        </pre>
        {ex.filename.endsWith('.jsonl') && (
          <details>
            <summary className="small">The same lines formatted for reading (upload them one per line, as above)</summary>
            <pre className="json">
              {ex.content
                .trim()
                .split('\n')
                .map((l, i) => `// line ${i + 1}\n${JSON.stringify(JSON.parse(l), null, 2)}`)
                .join('\n')}
            </pre>
          </details>
        )}
        {ex.columns && <ColumnMapping id={doc.id} columns={ex.columns} />}
      </>
    );
  }
  if (ex.kind === 'parquet') {
    const rows = ex.schema[0]?.values.length ?? 0;
    const script = [
      'import pandas as pd',
      '',
      'pd.DataFrame({',
      ...ex.schema.map((c) => `    ${py(c.name)}: ${py(c.values)},`),
      `}).to_parquet(${py(ex.filename)}, row_group_size=10000)`,
    ].join('\n');
    return (
      <>
        <h3>
          Example: <code>{ex.filename}</code> ({ex.expect.examples} rows)
        </h3>
        <div className="table-wrap">
          <table data-testid={`docs-parquet-schema`}>
            <thead>
              <tr>
                {ex.schema.map((c) => (
                  <th key={c.name}>
                    {c.name} <span className="muted">({c.type})</span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {Array.from({ length: rows }, (_, i) => (
                <tr key={i}>
                  {ex.schema.map((c) => (
                    <td key={c.name}>{c.values[i]}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p>Written with pandas (pyarrow):</p>
        <pre className="json" data-testid={testid}>
          {script}
        </pre>
        <ColumnMapping id={doc.id} columns={ex.columns} />
      </>
    );
  }
  const base = datasetFormatDocs.find((d) => d.id === ex.of);
  return (
    <>
      <h3>Example</h3>
      <p>
        The <a href={`#${ex.of}`}>{base?.title ?? ex.of}</a> example, compressed either way ({ex.expect.examples} examples):
      </p>
      <pre className="json" data-testid={testid}>
        {ex.variants.map((v) => `${v.command}   # → ${v.filename}`).join('\n')}
      </pre>
    </>
  );
}

function FormatSection({ doc, base }: { doc: DatasetFormatDoc; base: string }) {
  return (
    <section className="card" id={doc.id} data-testid={`docs-format-${doc.id}`} style={{ scrollMarginTop: 16 }}>
      <h2>
        <a href={`#${doc.id}`}>{doc.title}</a>
      </h2>
      <p>
        <Text>{doc.summary}</Text>
      </p>
      <p className="muted">
        <strong>When to use it:</strong> <Text>{doc.whenToUse}</Text>
      </p>
      <Table table={doc.table} testid={`docs-fields-${doc.id}`} />
      {doc.rules.length > 0 && (
        <ul>
          {doc.rules.map((r) => (
            <li key={r}>
              <Text>{r}</Text>
            </li>
          ))}
        </ul>
      )}
      <Example doc={doc} />
      <h3>Upload it</h3>
      <pre className="json">{doc.upload.replaceAll('$EDGETUNE_URL', base)}</pre>
      {doc.refused.length > 0 && (
        <>
          <h3>Refused, with the field named</h3>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>problem</th>
                  <th>{doc.id === 'csv' ? 'file' : 'line'}</th>
                  <th>error names</th>
                </tr>
              </thead>
              <tbody>
                {doc.refused.map((r) => (
                  <tr key={r.why}>
                    <td>{r.why}</td>
                    <td>
                      <code className="break" style={{ whiteSpace: 'pre-wrap' }}>
                        {r.content.trimEnd()}
                      </code>
                      {r.columns && (
                        <div className="small muted">
                          columns: <code>{JSON.stringify(r.columns)}</code>
                        </div>
                      )}
                    </td>
                    <td>{r.field ? <code>{r.field}</code> : <span>the {r.param ?? 'file'}</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

export default function DatasetFormatsPage() {
  const base = loadConfig().PUBLIC_URL.replace(/\/$/, '');
  const api = datasetApiDocs(base);
  return (
    <>
      <header className="topbar">
        <Link href="/" className="brand">
          edge<span>tune</span>
        </Link>
        <nav className="nav">
          <Link href="/datasets">Datasets</Link>
        </nav>
      </header>
      <main className="main" data-testid="docs-datasets">
        <h1>Dataset formats</h1>
        <p>
          Upload training data in any of these formats from the <Link href="/datasets">portal</Link>, the REST API or the OpenAI client. Every record is checked
          before a job can use the data; a problem is reported with its line (or row) and field.
        </p>
        <nav className="card" aria-label="Formats">
          <strong>Formats:</strong>{' '}
          {datasetFormatDocs.map((d, i) => (
            <span key={d.id}>
              {i > 0 && ' · '}
              <a href={`#${d.id}`} data-testid="docs-toc-link">
                {d.title}
              </a>
            </span>
          ))}
          {' · '}
          <a href="#rules">Rules for every file</a>
          {' · '}
          <a href="#upload">How to upload</a>
        </nav>

        {datasetFormatDocs.map((d) => (
          <FormatSection key={d.id} doc={d} base={base} />
        ))}

        <section className="card" id="rules">
          <h2>
            <a href="#rules">Rules for every file</a>
          </h2>
          <ul>
            {datasetGeneralRules.map((r) => (
              <li key={r}>
                <Text>{r}</Text>
              </li>
            ))}
          </ul>
        </section>

        <section className="card" id="upload">
          <h2>
            <a href="#upload">How to upload</a>
          </h2>
          <p className="muted">
            <code>$EDGETUNE_KEY</code> is an API key (Settings → API keys). Under /api/v1 a signed-in portal session works too.
          </p>
          {api.map((s) => (
            <div key={s.id} id={s.id}>
              <h3>{s.title}</h3>
              <p>
                <Text>{s.text}</Text>
              </p>
              <pre className="json">{s.code}</pre>
            </div>
          ))}
        </section>
      </main>
    </>
  );
}
