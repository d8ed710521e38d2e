/** OpenAPI paths and schemas of datasets, versions and resumable uploads (rest/datasets.ts), merged into openapi.ts. */
import { datasetFormats } from '@edgetune/contracts';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: unknown) => ({ 'application/json': { schema } });
const ok = (schema: unknown, description = 'OK') => ({ description, content: jsonContent(schema) });
const err = { $ref: '#/components/responses/Error' };
const errors = { '400': err, '401': err, '403': err, '404': err };
const list = (item: string, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  required: ['object', 'data'],
  properties: { object: { const: 'list' }, data: { type: 'array', items: ref(item) }, ...extra },
});
const path = (name: string, description: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
const datasetId = path('dataset_id', 'ds_…');
const versionId = path('version', 'The version: its file id (file-…) or its number (1, 2, …)');
const uploadId = path('upload_id', 'upl_…');
const time = { type: 'string', format: 'date-time' };

/** The optional upload fields, shared by single-shot uploads (form fields / query) and resumable ones. */
export const uploadOptionProperties = {
  dataset: { type: 'string', maxLength: 100, description: 'Dataset name (created when new). Default: the file name without its extensions.' },
  format: { type: 'string', enum: ['auto', ...datasetFormats], description: 'Record format; default: detected from the first record or the columns.' },
  columns: {
    description: 'CSV / Parquet column mapping, target field → source column (JSON text in a form field or query parameter).',
    oneOf: [{ type: 'object', additionalProperties: { type: 'string' } }, { type: 'string' }],
    examples: [{ prompt: 'question', completion: 'answer' }],
  },
  base_model: { type: 'string', description: 'Catalog id whose tokenizer counts tokens and flags too-long examples.' },
};

export const datasetPaths = {
  '/datasets': {
    get: {
      operationId: 'listDatasets',
      summary: 'Datasets (named series of immutable versions), newest first',
      parameters: [
        { name: 'after', in: 'query', schema: { type: 'string' } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
      ],
      responses: { '200': ok(list('Dataset', { has_more: { type: 'boolean' } })), ...errors },
    },
  },
  '/datasets/{dataset_id}': {
    get: { operationId: 'getDataset', parameters: [datasetId], responses: { '200': ok(ref('DatasetDetail')), ...errors } },
    delete: {
      operationId: 'deleteDataset',
      summary: 'Delete a dataset with all its versions (refused with 409, naming the jobs, while an unfinished job uses one)',
      parameters: [datasetId],
      responses: { '200': ok({ type: 'object', properties: { id: { type: 'string' }, deleted: { const: true }, versions: { type: 'integer' } } }), ...errors, '409': err },
    },
  },
  '/datasets/{dataset_id}/versions': {
    get: { operationId: 'listDatasetVersions', parameters: [datasetId], responses: { '200': ok(list('DatasetVersion')), ...errors } },
  },
  '/datasets/{dataset_id}/versions/{version}': {
    get: { operationId: 'getDatasetVersion', parameters: [datasetId, versionId], responses: { '200': ok(ref('DatasetVersion')), ...errors } },
  },
  '/datasets/{dataset_id}/versions/{version}/preview': {
    get: {
      operationId: 'previewDatasetVersion',
      summary: 'Records of the stored (normalized) JSONL, by 1-based record number',
      parameters: [
        datasetId,
        versionId,
        { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0 } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
      ],
      responses: {
        '200': ok({
          type: 'object',
          properties: {
            object: { const: 'list' },
            data: { type: 'array', items: { type: 'object', properties: { line: { type: 'integer' }, record: {}, truncated: { type: 'object', properties: { bytes: { type: 'integer' } } } } } },
            total: { type: 'integer' },
            offset: { type: 'integer' },
            limit: { type: 'integer' },
            format: { type: 'string' },
          },
        }),
        ...errors,
      },
    },
  },
  '/datasets/{dataset_id}/versions/{version}/estimate': {
    get: {
      operationId: 'estimateTraining',
      summary: 'Estimated training tokens, time and cost of this version for a base model and epoch count',
      parameters: [datasetId, versionId, { name: 'base_model', in: 'query', required: true, schema: { type: 'string' } }, { name: 'epochs', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 50 } }],
      responses: { '200': ok({ type: 'object' }), ...errors },
    },
  },
  '/uploads': {
    post: {
      operationId: 'createUpload',
      summary: 'Start a resumable upload; send the bytes with PUT /uploads/{upload_id}',
      requestBody: {
        required: true,
        content: jsonContent({
          type: 'object',
          required: ['filename', 'size'],
          properties: { filename: { type: 'string' }, size: { type: 'integer', minimum: 0 }, purpose: { type: 'string', enum: ['fine-tune'] }, ...uploadOptionProperties, baseModel: { type: 'string' } },
        }),
      },
      responses: { '201': ok(ref('Upload'), 'Created'), ...errors, '413': err },
    },
  },
  '/uploads/{upload_id}': {
    get: { operationId: 'getUpload', summary: 'Status and offset: where an interrupted client continues', parameters: [uploadId], responses: { '200': ok(ref('Upload')), ...errors } },
    put: {
      operationId: 'putUploadChunk',
      summary: 'Append bytes at the current offset',
      parameters: [uploadId, { name: 'Content-Range', in: 'header', required: true, schema: { type: 'string' }, example: 'bytes 0-8388607/104857600' }],
      requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      responses: {
        '200': ok({ type: 'object', properties: { id: { type: 'string' }, offset: { type: 'integer' }, size: { type: 'integer' } } }),
        ...errors,
        '409': { description: 'The chunk does not start at the current offset (or ended early); `offset` says where to continue', content: jsonContent({ allOf: [ref('Error'), { type: 'object', properties: { offset: { type: 'integer', description: 'where to continue (absent when the upload takes no more bytes)' } } }] }) },
      },
    },
    delete: { operationId: 'abortUpload', summary: 'Abort and remove the staged bytes', parameters: [uploadId], responses: { '200': ok(ref('Upload')), ...errors, '409': err } },
  },
  '/uploads/{upload_id}/complete': {
    post: {
      operationId: 'completeUpload',
      summary: 'Validate the uploaded bytes and create the dataset version (400 with line details when invalid)',
      parameters: [uploadId],
      responses: {
        '200': ok({ type: 'object', properties: { file: ref('DatasetVersion'), dataset: ref('Dataset'), report: { type: ['object', 'null'] }, reused: { type: 'boolean' } } }),
        ...errors,
        '409': err,
      },
    },
  },
};

export const datasetSchemas = {
  Dataset: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      object: { const: 'dataset' },
      name: { type: 'string' },
      description: { type: ['string', 'null'] },
      created_at: time,
      versions: { type: 'integer' },
      latest_version: { oneOf: [ref('File'), { type: 'null' }] },
    },
  },
  DatasetVersion: {
    type: 'object',
    description: 'A file that is a dataset version, with its validation report and lineage.',
    properties: {
      id: { type: 'string' },
      object: { const: 'dataset.version' },
      version: { type: 'integer' },
      dataset_id: { type: 'string' },
      filename: { type: 'string' },
      format: { type: 'string', enum: [...datasetFormats] },
      bytes: { type: 'integer', description: 'Size as uploaded' },
      sha256: { type: 'string', description: 'Of the bytes as uploaded; the same bytes uploaded again return this version' },
      examples: { type: 'integer' },
      source: { type: ['object', 'null'], description: 'filename, container (jsonl/csv/parquet), compression (none/gzip/zstd), columns, uploadedBytes, normalizedBytes' },
      report: { type: ['object', 'null'], description: 'Warnings (with lines), statistics and token histogram' },
      used_by: {
        type: 'object',
        properties: {
          jobs: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' }, fine_tuned_model: { type: ['string', 'null'] }, role: { enum: ['training', 'validation'] } } } },
        },
      },
    },
  },
  DatasetDetail: {
    allOf: [ref('Dataset'), { type: 'object', properties: { versions: { type: 'array', items: ref('DatasetVersion') } } }],
  },
  Upload: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      object: { const: 'upload' },
      filename: { type: 'string' },
      offset: { type: 'integer', description: 'Bytes received so far: the next PUT starts here' },
      size: { type: 'integer' },
      status: { type: 'string', enum: ['open', 'completing', 'completed', 'failed', 'aborted'] },
      fileId: { type: ['string', 'null'] },
      error: { type: ['object', 'null'] },
      chunkSize: { type: 'integer', description: 'Suggested chunk size' },
      expiresAt: time,
      createdAt: time,
    },
  },
};
