import { createLogger } from '@edgetune/config';

export const log = createLogger('device-agent');
