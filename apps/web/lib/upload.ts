'use client';
import type { ErrorDetail } from '@edgetune/contracts';

export interface UploadedFile {
  id: string;
  filename: string;
  bytes?: number;
  [k: string]: unknown;
}

export interface ApiErrorBody {
  code: string;
  message: string;
  param: string | null;
  details?: ErrorDetail[];
}

export type UploadOutcome = { ok: true; file: UploadedFile } | { ok: false; status: number; error: ApiErrorBody };

/**
 * Uploads a JSONL file through the REST API (session cookie), reporting byte progress.
 * XMLHttpRequest because fetch has no upload progress events.
 */
export function uploadFile(file: File, onProgress: (fraction: number) => void): Promise<UploadOutcome> {
  return new Promise((resolve) => {
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/files');
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body && typeof body === 'object' && 'id' in body) {
        onProgress(1);
        resolve({ ok: true, file: body as UploadedFile });
        return;
      }
      const err = (body as { error?: ApiErrorBody } | null)?.error;
      resolve({
        ok: false,
        status: xhr.status,
        error: err ?? { code: 'http_' + xhr.status, message: `Upload failed (HTTP ${xhr.status}).`, param: null },
      });
    };
    xhr.onerror = () => resolve({ ok: false, status: 0, error: { code: 'network', message: 'Network error while uploading.', param: null } });
    xhr.send(form);
  });
}
