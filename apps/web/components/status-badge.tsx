export function StatusBadge({ status, testid }: { status: string; testid?: string }) {
  return (
    <span className={`badge ${status}`} data-testid={testid}>
      {status}
    </span>
  );
}
