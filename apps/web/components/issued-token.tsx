'use client';
import type { ReactNode } from 'react';
import { CopyButton } from '@/components/copy-button';

function ReadOnlyLine({ label, value, testid }: { label: string; value: string; testid: string }) {
  return (
    <input
      type="text"
      readOnly
      aria-label={label}
      value={value}
      onFocus={(e) => e.currentTarget.select()}
      data-testid={testid}
      style={{ flex: 1, fontFamily: 'monospace' }}
    />
  );
}

/**
 * An enrollment token just created or rotated: shown once, beside the command that uses it.
 * `testid` prefixes every element's test id (`<testid>-token`, `<testid>-command`, …).
 */
export function IssuedTokenBox(props: {
  testid: string;
  action: 'created' | 'rotated';
  title: string;
  /** What happened to the previous token (rotations only). */
  rotatedNote: string;
  token: string;
  commandIntro: ReactNode;
  commandLabel: string;
  command: string;
  commandTestid: string;
  onDone: () => void;
}) {
  const t = props.testid;
  return (
    <div className="alert ok" role="status" data-testid={`${t}-token-issued`} data-action={props.action}>
      <strong>{props.title}</strong> Copy the token now: it is shown only once and cannot be recovered.
      {props.action === 'rotated' && ` ${props.rotatedNote}`}
      <div className="secret">
        <ReadOnlyLine label="Enrollment token" value={props.token} testid={`${t}-token`} />
        <CopyButton text={props.token} testid={`${t}-token-copy`} label="Copy token" />
      </div>
      <p className="small" style={{ margin: '10px 0 0' }}>
        {props.commandIntro}
      </p>
      <div className="secret">
        <ReadOnlyLine label={props.commandLabel} value={props.command} testid={props.commandTestid} />
        <CopyButton text={props.command} testid={`${t}-command-copy`} label="Copy command" />
        <button type="button" className="secondary small" onClick={props.onDone} data-testid={`${t}-token-dismiss`}>
          Done
        </button>
      </div>
    </div>
  );
}
