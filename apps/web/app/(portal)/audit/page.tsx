import type { Metadata } from 'next';
import { auditActions } from '@edgetune/api';
import { AuditLog } from './audit-log';

export const metadata: Metadata = { title: 'Audit log · edgetune' };

export default function AuditPage() {
  return <AuditLog actions={[...auditActions]} />;
}
