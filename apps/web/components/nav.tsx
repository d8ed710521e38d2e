'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { signOut } from 'next-auth/react';

const links = [
  { href: '/jobs', label: 'Jobs', testid: 'nav-jobs' },
  { href: '/files', label: 'Files', testid: 'nav-files' },
  { href: '/models', label: 'Models', testid: 'nav-models' },
  { href: '/api-keys', label: 'API keys', testid: 'nav-apikeys' },
];

export function Nav({ orgName, email }: { orgName: string; email: string | null }) {
  const pathname = usePathname();
  return (
    <header className="topbar">
      <Link href="/jobs" className="brand">
        edge<span>tune</span>
      </Link>
      <nav className="nav">
        {links.map((l) => (
          <Link key={l.href} href={l.href} data-testid={l.testid} className={pathname === l.href || pathname.startsWith(l.href + '/') ? 'active' : ''}>
            {l.label}
          </Link>
        ))}
      </nav>
      <div className="who">
        <span className="org" data-testid="nav-org">
          {orgName}
        </span>
        {email && <span data-testid="nav-user">{email}</span>}
        <button type="button" className="small" data-testid="signout" onClick={() => void signOut({ callbackUrl: '/signin' })}>
          Sign out
        </button>
      </div>
    </header>
  );
}
