/** OpenAPI 3.1 description of /api/v1 (served at /api/v1/openapi.json). */
import { loadConfig } from '@edgetune/config';
import { datasetPaths, datasetSchemas, uploadOptionProperties } from './openapi-datasets';
import { identityPaths, identitySchemas } from './openapi-identity';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: unknown) => ({ 'application/json': { schema } });
const ok = (schema: unknown, description = 'OK') => ({ description, content: jsonContent(schema) });
const errors = {
  '400': { $ref: '#/components/responses/Error' },
  '401': { $ref: '#/components/responses/Error' },
  '404': { $ref: '#/components/responses/Error' },
};
const listOf = (item: string) => ({
  type: 'object',
  required: ['object', 'data', 'has_more'],
  properties: { object: { const: 'list' }, data: { type: 'array', items: ref(item) }, has_more: { type: 'boolean' } },
});
const idParam = (name: string, description: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
const pageParams = [
  { name: 'after', in: 'query', schema: { type: 'string' }, description: 'Cursor: the id of the last item of the previous page.' },
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
];

export function openApiDocument(): Record<string, unknown> {
  let server = 'http://127.0.0.1:3000';
  try {
    server = loadConfig().PUBLIC_URL;
  } catch {
    /* keep the default */
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'edgetune platform API',
      version: '1.0.0',
      description:
        'Upload chat JSONL datasets, fine-tune LFM2 models, and download per-device GGUF variants measured on real hardware. ' +
        'Authenticate with `Authorization: Bearer <api key>`. An OpenAI-compatible API is also served under /v1.',
    },
    servers: [{ url: `${server.replace(/\/+$/, '')}/api/v1` }],
    security: [{ bearerAuth: [] }],
    paths: {
      '/files': {
        post: {
          operationId: 'uploadFile',
          summary: 'Upload a dataset version: chat / prompt-completion / preference JSONL, CSV or Parquet, optionally gzip or zstd (validated line by line)',
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['file'],
                  properties: { file: { type: 'string', format: 'binary' }, purpose: { type: 'string', enum: ['fine-tune'] }, ...uploadOptionProperties },
                },
              },
              'application/octet-stream': {
                schema: { type: 'string', format: 'binary', description: 'Raw body; filename, purpose, dataset, format, columns and base_model as query parameters' },
              },
              'application/jsonl': { schema: { type: 'string', format: 'binary' } },
            },
          },
          responses: { '201': ok(ref('File'), 'Created'), ...errors, '413': { $ref: '#/components/responses/Error' } },
        },
        get: { operationId: 'listFiles', parameters: pageParams, responses: { '200': ok(listOf('File')), ...errors } },
      },
      '/files/{file_id}': {
        get: { operationId: 'getFile', parameters: [idParam('file_id', 'file-…')], responses: { '200': ok(ref('File')), ...errors } },
        delete: { operationId: 'deleteFile', parameters: [idParam('file_id', 'file-…')], responses: { '200': ok({ type: 'object' }), ...errors, '409': { $ref: '#/components/responses/Error' } } },
      },
      '/files/{file_id}/content': {
        get: { operationId: 'getFileContent', parameters: [idParam('file_id', 'file-…')], responses: { '200': { description: 'The JSONL file', content: { 'application/jsonl': {} } }, ...errors } },
      },
      '/jobs': {
        post: { operationId: 'createJob', requestBody: { required: true, content: jsonContent(ref('CreateJob')) }, responses: { '201': ok(ref('Job'), 'Created'), ...errors, '503': { $ref: '#/components/responses/Error' } } },
        get: { operationId: 'listJobs', parameters: pageParams, responses: { '200': ok(listOf('Job')), ...errors } },
      },
      '/jobs/{job_id}': { get: { operationId: 'getJob', parameters: [idParam('job_id', 'ftjob-…')], responses: { '200': ok(ref('Job')), ...errors } } },
      '/jobs/{job_id}/events': {
        get: { operationId: 'listJobEvents', parameters: [idParam('job_id', 'ftjob-…'), ...pageParams], responses: { '200': ok(listOf('JobEvent')), ...errors } },
      },
      '/jobs/{job_id}/cancel': {
        post: { operationId: 'cancelJob', parameters: [idParam('job_id', 'ftjob-…')], responses: { '200': ok(ref('Job')), ...errors, '409': { $ref: '#/components/responses/Error' } } },
      },
      '/models': { get: { operationId: 'listModels', responses: { '200': ok(listOf('Model')), ...errors } } },
      '/models/{fine_tuned_model}': {
        get: { operationId: 'getModel', parameters: [idParam('fine_tuned_model', 'The fine_tuned_model name of a job')], responses: { '200': ok(ref('Model')), ...errors } },
      },
      '/models/{fine_tuned_model}/variants/{variant_id}/download': {
        get: {
          operationId: 'downloadVariant',
          summary: 'Download a GGUF variant (supports HTTP Range)',
          parameters: [idParam('fine_tuned_model', 'model name'), idParam('variant_id', 'var_…'), { name: 'Range', in: 'header', schema: { type: 'string' }, example: 'bytes=0-1023' }],
          responses: {
            '200': { description: 'The whole file; ETag is the sha256', content: { 'application/octet-stream': {} } },
            '206': { description: 'The requested byte range', content: { 'application/octet-stream': {} } },
            '416': { description: 'Range not satisfiable' },
            ...errors,
          },
        },
      },
      '/devices': { get: { operationId: 'listDevices', responses: { '200': ok(listOf('Device')), ...errors } } },
      '/pools': { get: { operationId: 'listPools', responses: { '200': ok(listOf('Pool')), ...errors } } },
      ...identityPaths,
      ...datasetPaths,
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key (et_…) or the portal session cookie' } },
      responses: { Error: { description: 'Error', content: jsonContent(ref('Error')) } },
      schemas: {
        ...identitySchemas,
        ...datasetSchemas,
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', enum: ['invalid_request', 'validation_failed', 'unauthenticated', 'forbidden', 'not_found', 'conflict', 'payload_too_large', 'rate_limited', 'unavailable', 'internal'] },
                message: { type: 'string' },
                param: { type: ['string', 'null'] },
                details: { type: 'array', items: { type: 'object', properties: { line: { type: 'integer' }, field: { type: 'string' }, message: { type: 'string' } } } },
              },
            },
          },
        },
        File: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            object: { const: 'file' },
            bytes: { type: 'integer' },
            created_at: { type: 'integer' },
            filename: { type: 'string' },
            purpose: { type: 'string' },
            status: { type: 'string' },
            sha256: { type: 'string' },
            examples: { type: 'integer' },
            stats: { type: 'object', additionalProperties: { type: 'number' } },
            format: { type: 'string', enum: ['chat', 'prompt_completion', 'preference'] },
            dataset_id: { type: ['string', 'null'] },
            version: { type: ['integer', 'null'] },
          },
        },
        CreateJob: {
          type: 'object',
          required: ['model', 'training_file'],
          additionalProperties: false,
          properties: {
            model: { type: 'string', examples: ['lfm2-tiny'] },
            training_file: { type: 'string' },
            validation_file: { type: ['string', 'null'] },
            hyperparameters: {
              type: 'object',
              additionalProperties: false,
              properties: {
                method: { type: 'string', enum: ['lora', 'full'] },
                objective: {
                  type: 'string',
                  enum: ['sft', 'dpo'],
                  description:
                    "What the job optimizes; follows the training file's format: preference pairs train with 'dpo' (Direct Preference Optimization against the base model), chat and prompt/completion data with 'sft' (supervised). Optional; when given it must match, and a validation file must be the same kind as the training file.",
                },
                beta: {
                  type: 'number',
                  exclusiveMinimum: 0,
                  maximum: 10,
                  description: "DPO only (default 0.1): how strongly the tuned model is held to the base; refused on an 'sft' job.",
                },
                n_epochs: { type: 'integer', minimum: 1, maximum: 50 },
                learning_rate: { type: 'number' },
                batch_size: { type: 'integer', minimum: 1, maximum: 256 },
                lora_rank: { type: 'integer', minimum: 1, maximum: 256 },
              },
            },
            target_devices: { type: 'array', items: { type: 'string' }, description: 'Device profile ids; empty = every profile an online pool serves' },
            suffix: { type: ['string', 'null'], pattern: '^[a-z0-9-]{1,40}$' },
            seed: { type: 'integer' },
          },
        },
        Stage: {
          type: 'object',
          properties: {
            stage: { type: 'string' },
            device: { type: ['string', 'null'] },
            variant: { type: ['string', 'null'] },
            state: { type: 'string', enum: ['running', 'succeeded', 'failed', 'cancelled'] },
            started_at: { type: 'string', format: 'date-time' },
            finished_at: { type: ['string', 'null'], format: 'date-time' },
            duration_ms: { type: 'integer' },
          },
        },
        Job: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            object: { const: 'fine_tuning.job' },
            created_at: { type: 'integer' },
            finished_at: { type: ['integer', 'null'] },
            model: { type: 'string' },
            fine_tuned_model: { type: ['string', 'null'] },
            status: { type: 'string', enum: ['validating_files', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] },
            error: { type: ['object', 'null'] },
            hyperparameters: {
              type: 'object',
              description: "As created, defaults filled in; includes 'objective' ('sft' or 'dpo'; absent on jobs from before DPO: 'sft') and, for DPO, 'beta'.",
            },
            training_file: { type: 'string' },
            validation_file: { type: ['string', 'null'] },
            target_devices: { type: 'array', items: { type: 'string' } },
            seed: { type: 'integer' },
            stages: { type: 'array', items: ref('Stage') },
            model_version: { oneOf: [ref('Model'), { type: 'null' }] },
          },
        },
        JobEvent: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            object: { const: 'fine_tuning.job.event' },
            created_at: { type: 'integer' },
            level: { type: 'string', enum: ['info', 'warn', 'error'] },
            message: { type: 'string' },
            data: { type: 'object' },
            type: { type: 'string', enum: ['message', 'metrics'] },
            seq: { type: 'integer' },
          },
        },
        Variant: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            device: { type: 'string' },
            quantization: { type: 'string' },
            format: { const: 'gguf' },
            size_bytes: { type: 'integer' },
            sha256: { type: 'string' },
            selected: { type: 'boolean' },
            download_url: { type: 'string', format: 'uri' },
            metrics: { type: 'object' },
          },
        },
        Model: {
          type: 'object',
          properties: {
            model: { type: 'string' },
            version: { type: 'integer' },
            base_model: { type: 'string' },
            job: { type: 'string' },
            created_at: { type: 'string', format: 'date-time' },
            variants: { type: 'array', items: ref('Variant') },
          },
        },
        Device: {
          type: 'object',
          properties: { id: { type: 'string' }, name: { type: 'string' }, arch: { type: 'string' }, pools: { type: 'array', items: { type: 'string' } }, available: { type: 'boolean' } },
        },
        Pool: {
          type: 'object',
          properties: { id: { type: 'string' }, kind: { type: 'string', enum: ['device', 'train'] }, profiles: { type: 'array', items: { type: 'string' } }, online: { type: 'boolean' } },
        },
      },
    },
  };
}
