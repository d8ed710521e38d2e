import type { Metadata } from 'next';
import { OrgSettings } from './org-settings';

export const metadata: Metadata = { title: 'Organization settings · edgetune' };

export default function SettingsPage() {
  return <OrgSettings />;
}
