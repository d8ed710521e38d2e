import { finite, fmtBytes, fmtNum, fmtPct } from '@/lib/format';
import type { ModelVersion } from '@/lib/types';
import { variantDownloadPath } from '@/lib/variants';

/** "median of 10 runs; p10 118.2, p90 125.0" for a figure's tooltip. */
function spreadTitle(f: { median: number; p10: number; p90: number; samples: number } | undefined): string | undefined {
  return f ? `median of ${f.samples} runs; p10 ${fmtNum(f.p10, 1)}, p90 ${fmtNum(f.p90, 1)}` : undefined;
}

/** Two significant digits: a KL-divergence of 0.00031 and of 1.2 both read. */
function fmtKl(x: number): string {
  return x === 0 ? '0' : x.toPrecision(2);
}

/** Per device × quantization: size, sha256, numbers measured on the device's pool, download. */
export function VariantsTable({ version }: { version: Pick<ModelVersion, 'name' | 'variants'> }) {
  const devices = [...new Set(version.variants.map((v) => v.device))];
  return (
    <div className="table-wrap">
      <table data-testid="variants-table">
        <thead>
          <tr>
            <th>Device</th>
            <th>Quantization</th>
            <th className="num">Size</th>
            <th className="num">Prefill tok/s</th>
            <th className="num">Decode tok/s</th>
            <th className="num">TTFT</th>
            <th className="num">Peak RSS</th>
            <th className="num">Task accuracy</th>
            <th className="num" title="KL-divergence of the variant's next-token distributions from the F16's on the evaluation split: mean / 99th percentile">
              KL vs F16 (mean / p99)
            </th>
            <th className="num" title="Positions where the variant's most likely next token is the F16's">Same top token</th>
            <th className="num" title="Perplexity on the evaluation split relative to the F16's">Perplexity ×</th>
            <th>sha256</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {devices.flatMap((device) =>
            version.variants
              .filter((v) => v.device === device)
              .map((v, i) => {
                const ttft = finite(v.metrics.time_to_first_token_ms);
                const q = v.metrics.quality;
                const none = <span className="muted" title={v.metrics.quality_skipped ?? 'not measured'}>—</span>;
                return (
                  <tr
                    key={v.id}
                    className={v.selected ? 'selected' : ''}
                    data-testid="variant-row"
                    data-device={v.device}
                    data-quant={v.quantization}
                    data-selected={v.selected ? 'true' : 'false'}
                    data-size={v.sizeBytes}
                  >
                    <td>{i === 0 ? <strong>{device}</strong> : ''}</td>
                    <td>
                      <code>{v.quantization}</code>{' '}
                      {v.metrics.imatrix && (
                        <span
                          className="badge"
                          data-testid="variant-imatrix"
                          title={`Quantized with an importance matrix computed on ${v.metrics.imatrix.calibration_tokens} tokens of the training data (sha256 ${v.metrics.imatrix.sha256.slice(0, 12)}…)`}
                        >
                          imatrix
                        </span>
                      )}{' '}
                      {v.selected && (
                        <span className="badge selected" data-testid="variant-selected" title="Meets the budgets with the best measured quality">
                          selected
                        </span>
                      )}
                    </td>
                    <td className="num">{fmtBytes(v.sizeBytes)}</td>
                    <td className="num" title={spreadTitle(v.metrics.spread?.prefill_tokens_per_second)}>
                      {fmtNum(v.metrics.prefill_tokens_per_second, 1)}
                    </td>
                    <td className="num" title={spreadTitle(v.metrics.spread?.decode_tokens_per_second)} data-testid="variant-decode">
                      {fmtNum(v.metrics.decode_tokens_per_second, 1)}
                      {v.metrics.spread && (
                        <div className="small muted" data-testid="variant-decode-spread">
                          {fmtNum(v.metrics.spread.decode_tokens_per_second.p10, 0)}–{fmtNum(v.metrics.spread.decode_tokens_per_second.p90, 0)} · n={v.metrics.spread.decode_tokens_per_second.samples}
                        </div>
                      )}
                    </td>
                    <td className="num" title={spreadTitle(v.metrics.spread?.time_to_first_token_ms)}>
                      {ttft === undefined ? '—' : `${fmtNum(ttft, 1)} ms`}
                    </td>
                    <td className="num">{fmtBytes(finite(v.metrics.peak_rss_bytes))}</td>
                    <td className="num">{fmtPct(v.metrics.task_accuracy)}</td>
                    <td className="num" data-testid="variant-kl">
                      {q ? `${fmtKl(q.kl_divergence_mean)} / ${fmtKl(q.kl_divergence_p99)}` : none}
                    </td>
                    <td className="num" data-testid="variant-same-top">
                      {q ? `${fmtNum(q.same_top_token_percent, 1)}%` : none}
                    </td>
                    <td className="num" data-testid="variant-ppl-ratio">
                      {q ? `×${fmtNum(q.perplexity_ratio, 3)}` : none}
                    </td>
                    <td>
                      <code className="small break" data-testid="variant-sha256">
                        {v.sha256}
                      </code>
                    </td>
                    <td>
                      <a className="button small" href={variantDownloadPath(version.name, v.id)} download data-testid="variant-download">
                        Download
                      </a>
                    </td>
                  </tr>
                );
              }),
          )}
        </tbody>
      </table>
    </div>
  );
}
