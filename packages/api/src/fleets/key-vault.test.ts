import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';
import { LocalKeyVault, type TufKeyVault } from './key-vault';

const secret = (hex: string) => () => Buffer.from(hex.repeat(32), 'hex');

/** What any vault (the local one, a KMS) must do: fresh keys whose signatures verify with TUF's public key form. */
async function conformance(vault: TufKeyVault): Promise<void> {
  const a = await vault.generate();
  const b = await vault.generate();
  assert.match(a.publicHex, /^[0-9a-f]{64}$/);
  assert.notEqual(a.publicHex, b.publicHex);
  const payload = Buffer.from('{"signed":"canonical bytes"}');
  const sig = await vault.sign(a.privateRef, payload);
  const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(a.publicHex, 'hex')]), format: 'der', type: 'spki' });
  assert.ok(verify(null, payload, pub, sig));
  assert.ok(!verify(null, Buffer.from('other bytes'), pub, sig));
  assert.deepEqual(await vault.sign(a.privateRef, payload), sig, 'ed25519 signs deterministically');
}

test('the local key vault meets the vault contract', () => conformance(new LocalKeyVault(secret('ab'))));

test('the local vault keeps private keys encrypted, and a different secret cannot use them', async () => {
  const vault = new LocalKeyVault(secret('ab'));
  const k = await vault.generate();
  assert.doesNotMatch(k.privateRef, /BEGIN|PRIVATE/);
  // A fresh vault (no cache) decrypts the stored reference with the same secret.
  const sig = await new LocalKeyVault(secret('ab')).sign(k.privateRef, Buffer.from('x'));
  assert.equal(sig.length, 64);
  await assert.rejects(new LocalKeyVault(secret('cd')).sign(k.privateRef, Buffer.from('x')), /FLEET_KEY_SECRET is not the one it was created with/);
});
