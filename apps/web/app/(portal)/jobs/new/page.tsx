import type { Metadata } from 'next';
import { baseModels, defaultHyperparameters } from '@edgetune/contracts';
import { NewJobForm, type BaseModelOption } from './new-job-form';

export const metadata: Metadata = { title: 'New job · edgetune' };

export default function NewJobPage() {
  // The catalog is static data; hand the client only what the form shows.
  const models: BaseModelOption[] = baseModels.map((m) => ({
    id: m.id,
    name: m.name,
    parameters: m.parameters,
    contextLength: m.contextLength,
    methods: m.methods,
    description: m.description,
    defaults: { lora: defaultHyperparameters(m.id, 'lora'), full: defaultHyperparameters(m.id, 'full') },
    dpoDefaults: { lora: defaultHyperparameters(m.id, 'lora', 'dpo'), full: defaultHyperparameters(m.id, 'full', 'dpo') },
  }));
  return <NewJobForm models={models} />;
}
