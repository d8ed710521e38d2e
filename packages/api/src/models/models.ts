import type { Readable } from 'node:stream';
import { asc, desc, eq, inArray } from 'drizzle-orm';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { authorize, orgScope, pageLimit, type Caller } from '../tenant';
import type { VariantRow, VersionRow } from '../jobs/jobs';

export interface ModelVersionDetail {
  version: VersionRow;
  variants: VariantRow[];
}

const modelNotFound = (name: string) => new DomainError('not_found', `The model '${name}' does not exist or you do not have access to it.`, { param: 'model' });

/** The variants of some versions of the caller's org, by device then size. */
export async function variantsOf(caller: Caller, versionIds: string[]): Promise<VariantRow[]> {
  if (!versionIds.length) return [];
  return db()
    .select()
    .from(schema.modelVariants)
    .where(orgScope(caller, schema.modelVariants, inArray(schema.modelVariants.versionId, versionIds)))
    .orderBy(asc(schema.modelVariants.device), asc(schema.modelVariants.sizeBytes));
}

/** Published model versions of the caller's org, newest first, with their variants. */
export async function listModelVersions(caller: Caller, opts: { limit?: number } = {}): Promise<ModelVersionDetail[]> {
  authorize(caller, 'read');
  const versions = await db()
    .select()
    .from(schema.modelVersions)
    .where(orgScope(caller, schema.modelVersions))
    .orderBy(desc(schema.modelVersions.createdAt))
    .limit(pageLimit(opts.limit, 100, 1000));
  const variants = await variantsOf(caller, versions.map((v) => v.id));
  return versions.map((version) => ({ version, variants: variants.filter((x) => x.versionId === version.id) }));
}

/** One version by its `fine_tuned_model` name (or its id). */
export async function getModelVersion(caller: Caller, name: string): Promise<ModelVersionDetail> {
  authorize(caller, 'download');
  if (typeof name !== 'string' || !name || name.length > 300) throw modelNotFound(String(name));
  const [version] = await db()
    .select()
    .from(schema.modelVersions)
    .where(orgScope(caller, schema.modelVersions, name.startsWith('mv_') ? eq(schema.modelVersions.id, name) : eq(schema.modelVersions.name, name)))
    .limit(1);
  if (!version) throw modelNotFound(name);
  return { version, variants: await variantsOf(caller, [version.id]) };
}

export async function getVariant(caller: Caller, modelName: string, variantId: string): Promise<{ version: VersionRow; variant: VariantRow }> {
  const { version, variants } = await getModelVersion(caller, modelName);
  const variant = variants.find((v) => v.id === variantId);
  if (!variant) throw new DomainError('not_found', `No variant '${variantId}' in model '${modelName}'.`, { param: 'variant' });
  return { version, variant };
}

export type RangeResult = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/** Parses a single-range `Range: bytes=…` header against an object size (multi-range → full). */
export function parseRange(header: string | null | undefined, size: number): RangeResult {
  if (!header) return { kind: 'full' };
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header.trim());
  if (!m) return header.trim().toLowerCase().startsWith('bytes=') && header.includes(',') ? { kind: 'full' } : { kind: 'unsatisfiable' };
  const [, a, b] = m;
  if (a === '' && b === '') return { kind: 'unsatisfiable' };
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) return { kind: 'unsatisfiable' };
  }
  if (start >= size || size === 0) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

export interface VariantDownload {
  version: VersionRow;
  variant: VariantRow;
  size: number;
  range: RangeResult;
  /** Absent for an unsatisfiable range. */
  stream: Readable | null;
}

/** Opens a variant's file, honouring a byte range. */
export async function openVariantDownload(caller: Caller, modelName: string, variantId: string, rangeHeader?: string | null): Promise<VariantDownload> {
  const { version, variant } = await getVariant(caller, modelName, variantId);
  const info = await storage().head(variant.storageKey);
  if (!info) throw new DomainError('not_found', `The file of variant '${variantId}' is missing from storage.`, { param: 'variant' });
  return { version, variant, size: info.sizeBytes, ...(await openRange(variant.storageKey, info.sizeBytes, rangeHeader)) };
}

/** A stored object of `size` bytes opened at the byte range a Range header asks for (no stream when unsatisfiable). */
export async function openRange(key: string, size: number, rangeHeader: string | null | undefined): Promise<{ range: RangeResult; stream: Readable | null }> {
  const range = parseRange(rangeHeader, size);
  if (range.kind === 'unsatisfiable') return { range, stream: null };
  const stream = range.kind === 'partial' ? await storage().get(key, { start: range.start, end: range.end }) : await storage().get(key);
  return { range, stream };
}
