/**
 * Runs one GraphQL request against zot's schema: parse (bounded in tokens), validate, check depth
 * and cost (`limits.ts`), then execute with the caller's `SearchScope` as context. Every failure
 * becomes GraphQL's `{"errors":[...]}` with the status gqlgen (zot's server) gives it: 422 for a
 * document that does not parse or validate, 200 once execution started. Errors that are not the
 * query's fault never show their message: they are logged, and the answer names the request id.
 */
import {
  buildSchema,
  execute,
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import type { Logger } from 'pino';
import { LruMap } from '../registry/lru.js';
import { checkLimits, MAX_QUERY_BYTES, MAX_TOKENS, type QueryLimits, DEFAULT_LIMITS } from './limits.js';
import { rootResolvers } from './resolvers.js';
import { SEARCH_SCHEMA } from './schema.js';
import type { SearchScope } from './scope.js';

export const schema = buildSchema(SEARCH_SCHEMA);

/**
 * Documents that parsed and validated, by query text: zot's UI sends the same few queries over
 * and over, and parsing plus validation is a third of a small query's cost. Limits are still
 * checked per request (they depend on the variables).
 */
const validDocuments = new LruMap<string, DocumentNode>(256);
/** Only queries of UI size are kept, so the cache stays a few MB whatever clients send. */
const MAX_CACHED_QUERY_LENGTH = 4096;

export interface GraphQLRequest {
  query: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export interface GraphQLAnswer {
  status: number;
  body: { data?: unknown; errors?: readonly GraphQLFormattedError[] };
}

const refuse = (status: number, errors: readonly GraphQLError[]): GraphQLAnswer => ({
  status,
  body: { errors: errors.map((e) => e.toJSON()) },
});

/** Parses and checks a request without running it: the document, or the answer refusing it. */
export function prepare(
  request: GraphQLRequest,
  limits: QueryLimits = DEFAULT_LIMITS,
):
  | { document: DocumentNode; variables: Record<string, unknown>; operationName: string | undefined }
  | GraphQLAnswer {
  const { query, variables, operationName } = request;
  if (typeof query !== 'string' || query.trim() === '')
    return refuse(422, [
      new GraphQLError('no query given', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } }),
    ]);
  if (Buffer.byteLength(query) > MAX_QUERY_BYTES)
    return refuse(422, [
      new GraphQLError(`query is longer than ${MAX_QUERY_BYTES} bytes`, {
        extensions: { code: 'GRAPHQL_PARSE_FAILED' },
      }),
    ]);
  if (
    variables !== undefined &&
    variables !== null &&
    (typeof variables !== 'object' || Array.isArray(variables))
  )
    return refuse(422, [
      new GraphQLError('variables must be an object', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
    ]);
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string')
    return refuse(422, [
      new GraphQLError('operationName must be a string', {
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      }),
    ]);
  let document = validDocuments.get(query);
  if (!document) {
    try {
      document = parse(query, { maxTokens: MAX_TOKENS });
    } catch (err) {
      const error = err instanceof GraphQLError ? err : new GraphQLError('query does not parse');
      return refuse(422, [
        new GraphQLError(error.message, { ...error, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }),
      ]);
    }
    const invalid = validate(schema, document, specifiedRules, { maxErrors: 20 });
    if (invalid.length > 0) return refuse(422, invalid);
    if (query.length <= MAX_CACHED_QUERY_LENGTH) validDocuments.set(query, document);
  }
  const name = operationName ?? undefined;
  const operation = getOperationAST(document, name);
  if (!operation)
    return refuse(422, [
      new GraphQLError(
        name
          ? `no operation named ${JSON.stringify(name)}`
          : 'the document holds several operations; name one with operationName',
        { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
      ),
    ]);
  const vars = (variables ?? {}) as Record<string, unknown>;
  const tooMuch = checkLimits(schema, document, operation, vars, limits);
  if (tooMuch.length > 0) return refuse(422, tooMuch);
  return { document, variables: vars, operationName: name };
}

export async function runGraphQL(
  request: GraphQLRequest,
  scope: SearchScope,
  log: Logger,
  requestId: string,
): Promise<GraphQLAnswer> {
  const prepared = prepare(request);
  if ('status' in prepared) return prepared;
  const result: ExecutionResult = await execute({
    schema,
    document: prepared.document,
    rootValue: rootResolvers,
    contextValue: scope,
    variableValues: prepared.variables,
    operationName: prepared.operationName,
  });
  const errors = result.errors?.map((error) => {
    // A GraphQLError thrown on purpose (or a coercion error) is the query's fault: shown as is.
    const original = error.originalError;
    if (original === undefined || original === null || original instanceof GraphQLError)
      return error.toJSON();
    log.error({ err: original, path: error.path }, 'search: resolver failed');
    return { message: `internal error (request ${requestId})`, path: error.path, locations: error.locations };
  });
  // No data at all: the variables did not fit the operation (gqlgen answers those 422 too).
  if (result.data === undefined) return { status: 422, body: { errors: errors ?? [] } };
  return { status: 200, body: errors ? { data: result.data, errors } : { data: result.data } };
}
