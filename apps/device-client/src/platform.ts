/**
 * The platform's device routes over HTTPS: enroll with the fleet's enrollment token, check in
 * with the device's own token, and a tuf-js fetcher that sends that token with every metadata and
 * file request.
 */
import { BaseFetcher } from 'tuf-js';
// tuf-js ends its walk through newer roots on this error's 404 / 403, so the fetcher must throw it.
import { DownloadHTTPError } from 'tuf-js/dist/error.js';

export class PlatformError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function errorOf(res: Response, what: string): Promise<PlatformError> {
  let detail = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    if (body.error?.message) detail = `${res.status}: ${body.error.message}`;
  } catch {
    // not JSON: the status line says enough
  }
  return new PlatformError(res.status, `${what} failed (${detail})`);
}

export const apiBase = (url: string) => `${url.replace(/\/+$/, '')}/api/v1`;
export const tufBase = (url: string, fleetId: string) => `${apiBase(url)}/fleets/${encodeURIComponent(fleetId)}/tuf`;

export async function enroll(url: string, fleetId: string, enrollmentToken: string, body: { name: string; profile: string; channel: string; fingerprint: Record<string, unknown> }) {
  const res = await fetch(`${apiBase(url)}/fleets/${encodeURIComponent(fleetId)}/devices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${enrollmentToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res, 'Enrolling');
  return (await res.json()) as { device_id: string; device_token: string; check_in_seconds: number };
}

export async function checkIn(url: string, fleetId: string, deviceId: string, token: string, body: Record<string, unknown>) {
  const res = await fetch(`${apiBase(url)}/fleets/${encodeURIComponent(fleetId)}/devices/${encodeURIComponent(deviceId)}/check-in`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res, 'Checking in');
  return (await res.json()) as { check_in_seconds: number };
}

/** The fleet's root 1, fetched once at enrollment when no root was pinned (trust on first use). */
export async function firstRoot(url: string, fleetId: string, token: string): Promise<string> {
  const res = await fetch(`${tufBase(url, fleetId)}/1.root.json`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw await errorOf(res, 'Fetching the first root');
  return res.text();
}

/** tuf-js's fetcher with the device token on every request; a 404 keeps its status for the caller. */
export class DeviceFetcher extends BaseFetcher {
  constructor(private readonly token: string) {
    super();
  }

  async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const res = await fetch(url, { headers: { authorization: `Bearer ${this.token}` } });
    if (!res.ok || !res.body) throw new DownloadHTTPError((await errorOf(res, `GET ${new URL(url).pathname}`)).message, res.status);
    return res.body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}
