import OpenAI from 'openai';
import { handleOpenAI } from '../openai/handler';

/** The official OpenAI client, its requests to our `/v1` answered by handleOpenAI in this process. */
export function inProcessOpenAI(apiKey: string): OpenAI {
  return new OpenAI({
    apiKey,
    baseURL: 'http://edgetune.test/v1',
    maxRetries: 0,
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      // The SDK probes fetch with a data: URL; only our URLs go to the handler.
      return req.url.startsWith('http://edgetune.test/') ? handleOpenAI(req) : fetch(req);
    }) as typeof fetch,
  });
}
