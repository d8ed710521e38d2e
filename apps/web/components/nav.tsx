'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { signOut } from 'next-auth/react';
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { Action } from '@edgetune/auth/permissions';
import { errorMessage, trpc } from '@/lib/trpc';
import { useMe } from '@/lib/me';
import type { OrgSummary } from '@/lib/types';

/** `permission`: shown only to those who may do it (the page itself also says why not). */
const links: { href: string; label: string; testid: string; exact?: boolean; permission?: Action }[] = [
  { href: '/jobs', label: 'Jobs', testid: 'nav-jobs' },
  { href: '/datasets', label: 'Datasets', testid: 'nav-datasets' },
  { href: '/models', label: 'Models', testid: 'nav-models' },
  { href: '/pools', label: 'Pools', testid: 'nav-pools' },
  { href: '/fleets', label: 'Fleets', testid: 'nav-fleets' },
  { href: '/api-keys', label: 'API keys', testid: 'nav-apikeys' },
  { href: '/settings/members', label: 'Members', testid: 'nav-members' },
  { href: '/audit', label: 'Audit log', testid: 'nav-audit' },
  { href: '/billing', label: 'Billing', testid: 'nav-billing', permission: 'manage_billing' },
  { href: '/settings', label: 'Settings', testid: 'nav-settings', exact: true },
];

/** Pages that exist in every organization: switching stays on them; other pages go to /jobs. */
const orgIndependent = new Set(links.map((l) => l.href));

/** A dropdown that closes on a click outside it or on Escape. */
function Menu({ label, testid, children }: { label: ReactNode; testid: string; children: (close: () => void) => ReactNode }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  return (
    <div className="menu" ref={ref}>
      <button type="button" className="menu-button" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen((o) => !o)} data-testid={testid}>
        {label} <span aria-hidden="true">▾</span>
      </button>
      {open && (
        <div className="menu-panel" role="menu">
          {children(() => setOpen(false))}
        </div>
      )}
    </div>
  );
}

function OrgSwitcher({ orgName, orgs }: { orgName: string; orgs: OrgSummary[] }) {
  const pathname = usePathname();
  const [creating, setCreating] = useState(false);
  const [newName, setNewName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function switchTo(orgId: string) {
    setBusy(true);
    setError(null);
    try {
      await trpc.orgs.switch.mutate({ orgId });
      // A full load: every page and the layout read the active organization afresh.
      window.location.assign(orgIndependent.has(pathname) ? pathname : '/jobs');
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  }

  async function create(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await trpc.orgs.create.mutate({ name: newName.trim() });
      window.location.assign('/settings/members');
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <Menu
      testid="org-switcher"
      label={
        <span className="org" data-testid="nav-org">
          {orgName}
        </span>
      }
    >
      {() => (
        <>
          <div className="menu-title">Organizations</div>
          {orgs.map((o) => (
            <button
              key={o.id}
              type="button"
              role="menuitem"
              className={`menu-item${o.current ? ' current' : ''}`}
              disabled={busy || o.current}
              onClick={() => void switchTo(o.id)}
              data-testid="org-option"
              data-org-id={o.id}
              data-current={o.current ? 'true' : 'false'}
            >
              <span>{o.name}</span>
              <span className="badge">{o.role}</span>
            </button>
          ))}
          <div className="menu-sep" />
          {creating ? (
            <form className="menu-form" onSubmit={create} data-testid="org-create-form">
              <input
                type="text"
                required
                maxLength={100}
                autoFocus
                placeholder="Organization name"
                value={newName}
                onChange={(e) => setNewName(e.target.value)}
                data-testid="org-create-name"
              />
              <button type="submit" className="small" disabled={busy || !newName.trim()} data-testid="org-create-submit">
                Create
              </button>
            </form>
          ) : (
            <button type="button" role="menuitem" className="menu-item" onClick={() => setCreating(true)} data-testid="org-create">
              + Create organization
            </button>
          )}
          {error && (
            <div className="menu-error" data-testid="org-switcher-error">
              {error}
            </div>
          )}
        </>
      )}
    </Menu>
  );
}

function AccountMenu({ email }: { email: string }) {
  const [error, setError] = useState<string | null>(null);

  async function signOutEverywhere() {
    if (!window.confirm('Sign out of every browser and device where you are signed in?')) return;
    setError(null);
    try {
      await trpc.auth.signOutEverywhere.mutate();
      await signOut({ callbackUrl: '/signin' });
    } catch (e) {
      setError(errorMessage(e));
    }
  }

  return (
    <Menu testid="account-menu" label={<span data-testid="nav-user">{email}</span>}>
      {(close) => (
        <>
          <Link href="/settings" role="menuitem" className="menu-item" onClick={close} data-testid="account-org-settings">
            Organization settings
          </Link>
          <button type="button" role="menuitem" className="menu-item" onClick={() => void signOutEverywhere()} data-testid="signout-everywhere">
            Sign out everywhere
          </button>
          {error && (
            <div className="menu-error" data-testid="signout-everywhere-error">
              {error}
            </div>
          )}
        </>
      )}
    </Menu>
  );
}

export function Nav({ orgName, email, orgs = [] }: { orgName: string; email: string | null; orgs?: OrgSummary[] }) {
  const pathname = usePathname();
  const me = useMe();
  // Unlike usePermission, unknown (me not loaded) hides the link: nothing there could be used.
  const shown = links.filter((l) => !l.permission || me?.permissions[l.permission]?.allowed === true);
  return (
    <header className="topbar">
      <Link href="/jobs" className="brand">
        edge<span>tune</span>
      </Link>
      <nav className="nav">
        {shown.map((l) => (
          <Link
            key={l.href}
            href={l.href}
            data-testid={l.testid}
            className={pathname === l.href || (!l.exact && pathname.startsWith(l.href + '/')) ? 'active' : ''}
          >
            {l.label}
          </Link>
        ))}
      </nav>
      <div className="who">
        <OrgSwitcher orgName={orgName} orgs={orgs} />
        {email && <AccountMenu email={email} />}
        <button type="button" className="small" data-testid="signout" onClick={() => void signOut({ callbackUrl: '/signin' })}>
          Sign out
        </button>
      </div>
    </header>
  );
}
