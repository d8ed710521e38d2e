import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@edgetune/api';

type Outputs = inferRouterOutputs<AppRouter>;
export type JobDetail = Outputs['jobs']['get'];
export type JobEvent = Outputs['jobs']['events']['data'][number];
export type ModelVersion = Outputs['models']['get'];
export type Me = Outputs['me']['get'];
export type OrgSummary = Outputs['orgs']['list'][number];
export type Member = Outputs['members']['list'][number];
export type Invitation = Outputs['invitations']['list'][number];
export type InvitationInfo = Outputs['invitations']['get'];
export type AuditEvent = Outputs['audit']['list']['data'][number];
export type DatasetDetail = Outputs['datasets']['get'];
export type DatasetEstimate = Outputs['datasets']['estimate'];
export type DatasetSummary = Outputs['datasets']['list']['data'][number];
