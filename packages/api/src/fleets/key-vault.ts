/**
 * Where fleets' TUF signing keys live. The platform only ever asks a vault for a new key and for
 * a signature; the local vault below keeps each private key encrypted at rest (AES-256-GCM under
 * FLEET_KEY_SECRET), and a KMS-backed vault implements the same two calls with the private half
 * never leaving the KMS.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { loadConfig } from '@edgetune/config';
import { DomainError } from '@edgetune/contracts';

export interface GeneratedKey {
  /** The raw 32-byte ed25519 public key, hex (TUF's `keyval.public`). */
  publicHex: string;
  /** What the vault needs to sign with the key later (stored beside the public key). */
  privateRef: string;
}

export interface TufKeyVault {
  generate(): Promise<GeneratedKey>;
  /** An ed25519 signature of `payload`. */
  sign(privateRef: string, payload: Buffer): Promise<Buffer>;
}

const REF_VERSION = 'v1';

function configuredSecret(): Buffer {
  const hex = loadConfig().FLEET_KEY_SECRET;
  if (!hex) {
    throw new DomainError('unavailable', 'Fleet releases are not configured on this installation: set FLEET_KEY_SECRET (64 hex digits) for the web server; `npm start` creates one per data folder.');
  }
  return Buffer.from(hex, 'hex');
}

/** Private keys encrypted with FLEET_KEY_SECRET; decrypted keys are cached for the process's life. */
export class LocalKeyVault implements TufKeyVault {
  private readonly cache = new Map<string, KeyObject>();

  /** `secret`: the 32-byte encryption key (by default FLEET_KEY_SECRET from the configuration). */
  constructor(private readonly secret: () => Buffer = configuredSecret) {}

  async generate(): Promise<GeneratedKey> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    // The SPKI encoding of an ed25519 key ends with the 32 raw bytes TUF wants.
    const publicHex = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('hex');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.secret(), iv);
    const body = Buffer.concat([cipher.update(privateKey.export({ type: 'pkcs8', format: 'der' })), cipher.final()]);
    const privateRef = [REF_VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    this.cache.set(privateRef, privateKey);
    return { publicHex, privateRef };
  }

  async sign(privateRef: string, payload: Buffer): Promise<Buffer> {
    return sign(null, payload, this.key(privateRef));
  }

  private key(ref: string): KeyObject {
    const cached = this.cache.get(ref);
    if (cached) return cached;
    const [version, iv, tag, body] = ref.split('.');
    if (version !== REF_VERSION || !iv || !tag || !body) throw new Error('unknown fleet key reference format');
    const decipher = createDecipheriv('aes-256-gcm', this.secret(), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    let der: Buffer;
    try {
      der = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
    } catch {
      throw new DomainError('unavailable', 'A fleet signing key cannot be decrypted: FLEET_KEY_SECRET is not the one it was created with.');
    }
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    this.cache.set(ref, key);
    return key;
  }
}

let vault: TufKeyVault = new LocalKeyVault();

export function keyVault(): TufKeyVault {
  return vault;
}

/** For a deployment that signs with a KMS (and for tests): replaces the vault for this process. */
export function useKeyVault(v: TufKeyVault): void {
  vault = v;
}
