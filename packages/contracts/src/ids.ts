import { randomBytes } from 'node:crypto';

/** Id prefixes by kind; OpenAI's own where OpenAI has the object. */
export const idPrefixes = {
  org: 'org_',
  user: 'user_',
  apiKey: 'key_',
  file: 'file-',
  job: 'ftjob-',
  event: 'ftevent-',
  checkpoint: 'ftckpt-',
  modelVersion: 'mv_',
  variant: 'var_',
  usage: 'use_',
  dataset: 'ds_',
  upload: 'upl_',
  invitation: 'inv_',
  userToken: 'tok_',
  email: 'eml_',
  audit: 'aud_',
  pool: 'pool_',
  poolAgent: 'agt_',
  poolTask: 'ptask_',
  fleet: 'flt_',
  device: 'dev_',
  release: 'rel_',
  credit: 'cred_',
} as const;

export type IdKind = keyof typeof idPrefixes;

const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Opaque random id: prefix + 24 base62 chars (~143 bits). */
export function newId(kind: IdKind): string {
  const bytes = randomBytes(24);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return idPrefixes[kind] + out;
}
