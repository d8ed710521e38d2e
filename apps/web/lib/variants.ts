/**
 * Where a variant downloads from, same-origin so the session cookie applies. It is the path of the
 * manifest's `download_url` (both are built from the same REST route), without PUBLIC_URL's origin.
 */
export function variantDownloadPath(modelName: string, variantId: string): string {
  return `/api/v1/models/${encodeURIComponent(modelName)}/variants/${encodeURIComponent(variantId)}/download`;
}
