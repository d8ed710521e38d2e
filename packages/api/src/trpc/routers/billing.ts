import { z } from 'zod';
import { getBilling, listInvoices, openCustomerPortal, setSpendingCap, startCheckout } from '../../billing/billing';
import { createTRPCRouter, orgProcedure } from '../procedures';

/** The Billing page: every procedure needs manage_billing (checked by the domain). Amounts are US cents. */
export const billingRouter = createTRPCRouter({
  get: orgProcedure.query(({ ctx }) => getBilling(ctx.caller)),
  /** Input is validated by the domain with contracts' spendingCapSchema ({ monthly_cap: cents | null }). */
  setCap: orgProcedure.input(z.record(z.string(), z.unknown())).mutation(({ ctx, input }) => setSpendingCap(ctx.caller, input)),
  invoices: orgProcedure.query(({ ctx }) => listInvoices(ctx.caller)),
  checkout: orgProcedure.mutation(({ ctx }) => startCheckout(ctx.caller)),
  portal: orgProcedure.mutation(({ ctx }) => openCustomerPortal(ctx.caller)),
});
