import argon2 from 'argon2';
import { DomainError } from '@edgetune/contracts';

export const MIN_PASSWORD_LENGTH = 10;

/** A small list of the most common passwords that meet the length rule (compared lower-cased). */
export const commonPasswords = new Set([
  '1234567890',
  '12345678910',
  '0123456789',
  '0987654321',
  '1111111111',
  '0000000000',
  '123456789a',
  'qwertyuiop',
  'password12',
  'password123',
  'password1234',
  'passw0rd123',
  'iloveyou12',
  'letmein123',
  'welcome123',
  'administrator',
  'admin12345',
  'changeme123',
  'qwerty1234',
  'qwerty12345',
  'abcdefghij',
  'abc1234567',
  'football123',
  'baseball123',
  'superman123',
  'trustno1234',
  'monkey12345',
  'dragon12345',
  'sunshine123',
  'princess123',
]);

/** Throws DomainError('invalid_request', …) naming the rule the password breaks. */
export function checkPasswordPolicy(password: unknown): asserts password is string {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
    throw new DomainError('invalid_request', `Password must be at least ${MIN_PASSWORD_LENGTH} characters long.`, { param: 'password' });
  }
  if (password.length > 1024) {
    throw new DomainError('invalid_request', 'Password must be at most 1024 characters long.', { param: 'password' });
  }
  if (commonPasswords.has(password.toLowerCase())) {
    throw new DomainError('invalid_request', 'This password is too common; choose another one.', { param: 'password' });
  }
}

export async function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id });
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}
