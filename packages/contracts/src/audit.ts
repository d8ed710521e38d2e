import { z } from 'zod';

/**
 * An audit event's `data`: ids, names and before/after values of what the action touched, its
 * keys depending on the action. Never secrets, tokens or password hashes.
 */
export const auditDataSchema = z.record(z.string(), z.unknown());
export type AuditData = z.infer<typeof auditDataSchema>;
