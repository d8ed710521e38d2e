/**
 * `npm run device-client -- --url URL --data-dir DIR [--fleet flt_… --name NAME --profile P]`
 *
 * The first run enrolls (the fleet's enrollment token from EDGETUNE_FLEET_TOKEN); every run then
 * updates and checks in, once (--once) or every check-in interval until stopped.
 */
import { parseArgs } from 'node:util';
import { DeviceClient } from './client';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'data-dir': { type: 'string' },
    fleet: { type: 'string' },
    name: { type: 'string' },
    profile: { type: 'string' },
    channel: { type: 'string', default: 'stable' },
    root: { type: 'string' },
    once: { type: 'boolean', default: false },
    interval: { type: 'string', default: '60' },
  },
});

const fail = (msg: string): never => {
  process.stderr.write(`device-client: ${msg}\n`);
  process.exit(2);
};

const dir = values['data-dir'] ?? fail('--data-dir is required: the folder that keeps the enrollment, metadata and models');
const token = process.env.EDGETUNE_FLEET_TOKEN;
const enrollWith =
  values.fleet && token
    ? {
        url: values.url ?? fail('--url is required to enroll'),
        fleetId: values.fleet,
        enrollmentToken: token,
        name: values.name ?? fail('--name is required to enroll (unique in the fleet, e.g. a serial number)'),
        profile: values.profile ?? fail('--profile is required to enroll (see GET /api/v1/devices)'),
        channel: values.channel,
        rootFile: values.root,
      }
    : null;
const log = (msg: string, data?: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...data })}\n`);

const client = await DeviceClient.open(dir, enrollWith, { log });
log('device ready', { device_id: client.deviceId, installed: client.installed?.model ?? null });
const seconds = Number(values.interval);
if (!Number.isFinite(seconds) || seconds < 1) fail('--interval must be a number of seconds ≥ 1');
for (;;) {
  const outcome = await client.cycle().catch((e: Error) => {
    log('check-in failed; retrying at the next interval', { error: e.message });
    return null;
  });
  if (values.once) process.exit(outcome && (outcome.kind === 'failed' || outcome.kind === 'refused') ? 1 : 0);
  await new Promise((r) => setTimeout(r, seconds * 1000));
}
