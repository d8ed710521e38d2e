/** Runs once when the web server starts (Next.js instrumentation hook): background maintenance. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { startUploadSweeper } = await import('@edgetune/api');
  // Abandoned uploads (their rows and staged bytes) go within ten minutes of expiring.
  startUploadSweeper();
}
