/** Fleets of edge devices: the request shapes of managing them and of a device enrolling and checking in. */
import { z } from 'zod';
import { fingerprintSchema } from './devices';

export const fleetNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit')
  .meta({ description: 'A name unique in the organization, e.g. "cars-eu"' });

export const createFleetSchema = z.strictObject({ name: fleetNameSchema });

export const enrollDeviceSchema = z.strictObject({
  name: z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits, dots, colons, dashes and underscores').meta({ description: 'Unique in the fleet, e.g. a serial number' }),
  profile: z.string().min(1).max(64).meta({ description: 'The device profile (GET /api/v1/devices) whose variant it installs' }),
  fingerprint: fingerprintSchema.partial().meta({ description: 'What the device knows of itself (CPU, OS, memory, ...)' }),
});

export const checkInSchema = z.strictObject({
  installed_version: z.string().max(256).nullable().optional().meta({ description: 'The model version installed now, e.g. "ft:lfm2-350m:acme::ab12cd34@3"' }),
  health: z.enum(['ok', 'degraded', 'failed']),
  last_error: z.string().max(4000).nullable().optional(),
});
