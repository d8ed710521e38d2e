/**
 * `@edgetune/api/testing`: helpers for the integration tests of other packages (the web server,
 * the orchestrator). Product code never imports it. It fills in the test environment first, so
 * import it before anything that reads configuration.
 */
import './env';

export { goodJsonl, goodLine, markVerified, newOrg, seedPublishedModel, seedTrainingFile, uniqueEmail, useDatabase } from './fixtures';
export { inProcessOpenAI } from './openai-client';
