import { orchestratorActivityNames } from '@edgetune/temporal/activities';
import * as implemented from './index';

type Activity = (...args: never[]) => Promise<unknown>;

/**
 * The orchestrator's activities under their declared names (packages/temporal/activity-names.json).
 * The workflow calls them by their export names (its proxy is typed from this module), so each
 * declared name must be an export of the same name, and every export must be declared: a
 * difference stops the worker at start, naming it.
 */
export function orchestratorActivities(impl: Record<string, unknown> = implemented): Record<string, Activity> {
  const declared = Object.entries<string>(orchestratorActivityNames);
  const problems = [
    ...declared.filter(([key, name]) => key !== name).map(([key, name]) => `'${key}' is declared under another name ('${name}')`),
    ...declared.filter(([, name]) => typeof impl[name] !== 'function').map(([, name]) => `'${name}' is declared but not implemented`),
    ...Object.keys(impl)
      .filter((name) => !declared.some(([, n]) => n === name))
      .map((name) => `'${name}' is implemented but not declared`),
  ];
  if (problems.length) throw new Error(`orchestrator activities differ from activity-names.json: ${problems.join('; ')}`);
  return Object.fromEntries(declared.map(([, name]) => [name, impl[name] as Activity]));
}
