import { finite, fmtBytes, fmtNum, fmtPct } from '@/lib/format';
import type { ModelVersion } from '@/lib/types';
import { variantDownloadPath } from '@/lib/variants';

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
                      {v.selected && (
                        <span className="badge selected" data-testid="variant-selected" title="Meets the budgets with the best measured quality">
                          selected
                        </span>
                      )}
                    </td>
                    <td className="num">{fmtBytes(v.sizeBytes)}</td>
                    <td className="num">{fmtNum(v.metrics.prefill_tokens_per_second, 1)}</td>
                    <td className="num">{fmtNum(v.metrics.decode_tokens_per_second, 1)}</td>
                    <td className="num">{ttft === undefined ? '—' : `${fmtNum(ttft, 1)} ms`}</td>
                    <td className="num">{fmtBytes(finite(v.metrics.peak_rss_bytes))}</td>
                    <td className="num">{fmtPct(v.metrics.task_accuracy)}</td>
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
