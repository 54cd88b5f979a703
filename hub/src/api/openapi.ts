/**
 * The OpenAPI 3.1 document, generated from the operation table and the same TypeBox schemas that validate
 * requests, and a dependency-free HTML page that renders it (no CDN: hubs often run on closed networks).
 */
import type { TSchema } from '@sinclair/typebox';
import type { Operation } from './operations.ts';
import { gymSourceName } from './access.ts';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, Problem, type ProblemCode } from './problem.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  /** The hub's OpenID Connect issuer; its endpoints go into the oauth2 security scheme. */
  issuer?: string;
  /** Every scope with what it grants. */
  scopes?: Record<string, string>;
}

/** TypeBox schemas are JSON Schema plus symbol-keyed metadata; a JSON round trip keeps exactly the former. */
function plain(schema: TSchema): JsonObject {
  return JSON.parse(JSON.stringify(schema)) as JsonObject;
}

function openApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: TSchema | undefined, location: 'query' | 'path'): JsonObject[] {
  if (!schema) return [];
  const properties = (schema['properties'] ?? {}) as Record<string, TSchema>;
  const required = new Set<string>((schema['required'] as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => {
    const parameter: JsonObject = { name, in: location, required: location === 'path' || required.has(name), schema: plain(property) };
    if (typeof property.description === 'string') parameter['description'] = property.description;
    return parameter;
  });
}

/** The scope an operation needs, as OAuth 2 security requirements; its roles go in `x-pulsebridge-roles`. */
function security(operation: Operation): Json[] {
  const access = operation.access;
  if (access.public) return [];
  const requirements: Json[] = [{ bearer: [access.scope] }, { oauth2: [access.scope] }];
  if (access.tokenInQuery) requirements.push({ accessTokenQuery: [access.scope] });
  return requirements;
}

function responses(operation: Operation): JsonObject {
  const success: JsonObject = { description: operation.response.description };
  if (operation.response.schema) success['content'] = { [operation.response.contentType]: { schema: plain(operation.response.schema) } };
  else success['content'] = { [operation.response.contentType]: {} };
  success['headers'] = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
  const result: JsonObject = { [String(operation.response.status ?? 200)]: success };
  if (operation.operationId === 'getReadiness') result['503'] = { ...success, description: 'Not ready; the checks say why' };
  if (operation.operationId === 'getReadings') {
    success['headers'] = { ...success['headers'], Link: { description: 'rel="next": the next page, when more readings remain', schema: { type: 'string' } } };
  }

  const codes = new Set<ProblemCode>(operation.problems);
  if (!operation.access.public) {
    codes.add('unauthorized');
    codes.add('forbidden');
  }
  codes.add('internal');
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of codes) {
    const status = PROBLEM_TYPES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    result[String(status)] = {
      description: statusCodes.map((code) => `${PROBLEM_TYPES[code].title} (${code})`).join('; '),
      content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  return result;
}

export function buildOpenApiDocument(operations: Readonly<Record<string, Operation>>, info: OpenApiInfo): JsonObject {
  const paths: Record<string, JsonObject> = {};
  const tags = new Set<string>();
  for (const operation of Object.values(operations)) {
    tags.add(operation.tag);
    const entry: JsonObject = {
      operationId: operation.operationId,
      tags: [operation.tag],
      summary: operation.summary,
      parameters: [...parameters(operation.params, 'path'), ...parameters(operation.query, 'query')],
      responses: responses(operation),
      security: security(operation),
    };
    if (!operation.access.public) {
      entry['x-pulsebridge-roles'] = [...operation.access.roles];
      entry['x-pulsebridge-gym'] = gymSourceName(operation.access.gym);
    }
    if (operation.description) entry['description'] = operation.description;
    if (operation.body) entry['requestBody'] = { required: true, content: { 'application/json': { schema: plain(operation.body) } } };
    if (operation.upload) {
      const content = Object.fromEntries(
        operation.upload.contentTypes.map((type) => [type, { schema: { type: 'string', contentMediaType: type, maxLength: operation.upload!.maxBytes } }]),
      );
      entry['requestBody'] = { required: true, description: `At most ${operation.upload.maxBytes} bytes`, content };
    }
    const path = openApiPath(operation.path);
    paths[path] = { ...paths[path], [operation.method ?? 'get']: entry };
  }
  const infoObject: JsonObject = { title: info.title, version: info.version };
  if (info.description) infoObject['description'] = info.description;
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: infoObject,
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      schemas: { Problem: plain(Problem) },
      headers: { RequestId: { description: 'Id of this request in the hub logs; a valid incoming X-Request-Id is kept', schema: { type: 'string' } } },
      securitySchemes: securitySchemes(info),
    },
  };
}

function securitySchemes(info: OpenApiInfo): JsonObject {
  const scopes: JsonObject = { ...info.scopes };
  const issuer = info.issuer ?? '';
  return {
    bearer: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        "A JWT access token (RFC 9068) from the hub's OpenID provider or a trusted issuer. `x-pulsebridge-roles` lists the roles one of which the caller must hold in the gym of the data; an empty list on the caller's own data means any signed-in person.",
    },
    oauth2: {
      type: 'oauth2',
      description: "The hub's own OpenID provider",
      flows: {
        authorizationCode: { authorizationUrl: `${issuer}/oidc/auth`, tokenUrl: `${issuer}/oidc/token`, refreshUrl: `${issuer}/oidc/token`, scopes },
        clientCredentials: { tokenUrl: `${issuer}/oidc/token`, scopes },
      },
    },
    accessTokenQuery: { type: 'apiKey', in: 'query', name: 'access_token', description: 'The same token, for EventSource clients' },
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** A short human reading of a parameter's schema: its type, allowed values, bounds. */
function schemaSummary(schema: Json | undefined): string {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return '';
  const anyOf = schema['anyOf'];
  if (Array.isArray(anyOf)) {
    const values = anyOf.map((m) => (typeof m === 'object' && m !== null && !Array.isArray(m) ? m['const'] : undefined));
    if (values.every((v) => v !== undefined)) return `one of: ${values.join(', ')}`;
  }
  const parts = [String(schema['type'] ?? '')];
  if (schema['minimum'] !== undefined || schema['maximum'] !== undefined) parts.push(`${schema['minimum'] ?? ''}..${schema['maximum'] ?? ''}`);
  if (schema['maxLength'] !== undefined) parts.push(`max ${schema['maxLength']} chars`);
  return parts.join(', ');
}

export function renderDocsPage(document: JsonObject): string {
  const info = document['info'] as JsonObject;
  const paths = document['paths'] as Record<string, Record<string, JsonObject>>;
  const sections: string[] = [];
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op['parameters'] as JsonObject[]).map(
        (p) =>
          `<tr><td><code>${escapeHtml(String(p['name']))}</code></td><td>${escapeHtml(String(p['in']))}</td><td>${p['required'] ? 'yes' : ''}</td>` +
          `<td>${escapeHtml(schemaSummary(p['schema']))}</td><td>${escapeHtml(String(p['description'] ?? ''))}</td></tr>`,
      );
      const bodySchema = (op['requestBody'] as JsonObject | undefined)?.['content'] as Record<string, JsonObject> | undefined;
      const bodyFields = Object.entries(((bodySchema?.['application/json']?.['schema'] as JsonObject | undefined)?.['properties'] ?? {}) as Record<string, JsonObject>).map(
        ([name, schema]) => `<li><code>${escapeHtml(name)}</code> ${escapeHtml(String(schema['description'] ?? schemaSummary(schema)))}</li>`,
      );
      const responsesHtml = Object.entries(op['responses'] as Record<string, JsonObject>).map(
        ([status, r]) => `<li><b>${escapeHtml(status)}</b> ${escapeHtml(String(r['description'] ?? ''))}</li>`,
      );
      const isPublic = Array.isArray(op['security']) && op['security'].length === 0;
      sections.push(
        `<section id="${escapeHtml(String(op['operationId']))}"><h3><code>${method.toUpperCase()} ${escapeHtml(path)}</code>${isPublic ? ' <small>(no auth)</small>' : ''}</h3>` +
          `<p>${escapeHtml(String(op['summary']))}</p>` +
          (op['description'] ? `<p>${escapeHtml(String(op['description']))}</p>` : '') +
          (params.length > 0
            ? `<table><thead><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr></thead><tbody>${params.join('')}</tbody></table>`
            : '') +
          (bodyFields.length > 0 ? `<p>JSON body:</p><ul>${bodyFields.join('')}</ul>` : '') +
          `<ul>${responsesHtml.join('')}</ul></section>`,
      );
    }
  }
  const problems = Object.entries(PROBLEM_TYPES).map(
    ([code, spec]) => `<li id="problem-${code}"><b>${code}</b> (${spec.status}, ${escapeHtml(spec.title)}): ${escapeHtml(spec.explanation)}</li>`,
  );
  const title = escapeHtml(`${String(info['title'])} ${String(info['version'])}`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
section{border-top:1px solid #eee;margin-top:1rem}code{background:#f4f4f4}</style></head>
<body><h1>${title}</h1>
<p>${escapeHtml(String(info['description'] ?? ''))}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1). Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>.
Errors are <code>application/problem+json</code>.</p>
<h2>Operations</h2>
${sections.join('\n')}
<h2>Problem types</h2>
<ul>${problems.join('\n')}</ul>
</body></html>
`;
}
