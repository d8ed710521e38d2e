/** Where a variant downloads from: the manifest's URL made same-origin (the session cookie applies). */
export function variantDownloadPath(version: { name: string; manifest: unknown }, variant: { id: string; device: string; quantization: string }): string {
  const listed = (version.manifest as { variants?: { device?: string; quantization?: string; download_url?: string }[] } | null)?.variants ?? [];
  const hit = listed.find((v) => v.device === variant.device && v.quantization === variant.quantization && typeof v.download_url === 'string');
  if (hit?.download_url) {
    try {
      const u = new URL(hit.download_url, 'http://placeholder.invalid');
      return u.pathname + u.search;
    } catch {
      /* fall through */
    }
  }
  return `/api/v1/models/${encodeURIComponent(version.name)}/variants/${encodeURIComponent(variant.id)}/download`;
}

export function metric(metrics: unknown, key: string): number | undefined {
  const v = (metrics as Record<string, unknown> | null | undefined)?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
