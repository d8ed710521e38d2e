'use client';
import { useState } from 'react';

export function CopyButton({ text, testid, label = 'Copy' }: { text: string; testid?: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API unavailable (plain http): fall back to a selection copy.
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  }
  return (
    <button type="button" className="secondary small" onClick={() => void copy()} data-testid={testid}>
      {copied ? 'Copied' : label}
    </button>
  );
}
