/**
 * How much work a query may ask for, checked on the parsed and validated document before anything
 * executes, so that a crafted query (deep nesting, thousands of aliases, unbounded lists inside
 * unbounded lists) is refused for the price of a walk over its text.
 *
 * - Depth: fields nested more than {@link MAX_DEPTH} deep are refused (zot's UI nests 5 deep;
 *   introspection, whose types are cyclic, is bounded by graphql-js's own introspection-depth rule).
 * - Cost: every field costs 1; the fields under a list cost once per expected element. Paginated
 *   lists (`Results`, `Repos`, `Images`, `CVEList`) expect the page size the query asked for (the
 *   server never returns more, {@link MAX_PAGE} when no limit is given); other lists expect a fixed
 *   number ({@link LIST_ESTIMATES}). Queries above {@link MAX_COST} are refused.
 * - Size: the parser stops after {@link MAX_TOKENS} tokens, the route after {@link MAX_QUERY_BYTES}.
 */
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isListType,
  isObjectType,
  Kind,
  OperationTypeNode,
  valueFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

export const MAX_DEPTH = 12;
export const MAX_COST = 50_000;
export const MAX_TOKENS = 5_000;
export const MAX_QUERY_BYTES = 64 * 1024;
/** The most results one page holds, and how many a list without `limit` returns. */
export const MAX_PAGE = 1_000;

/** Lists whose length the query's `requestedPage` sets (type.field). */
const PAGED_LISTS = new Set([
  'PaginatedReposResult.Results',
  'PaginatedImagesResult.Results',
  'GlobalSearchResult.Repos',
  'GlobalSearchResult.Images',
  'CVEResultForImage.CVEList',
  'CVEDiffResult.CVEList',
]);

/** Expected lengths of the other lists, generous for real images. */
const LIST_ESTIMATES: Readonly<Record<string, number>> = {
  /** Every tag of one repository: zot's ExpandedRepoInfo is not paginated. */
  Images: 100,
  Manifests: 8,
  Layers: 20,
  History: 20,
  Referrers: 10,
  SignatureInfo: 2,
  Platforms: 8,
  Vendors: 4,
  PackageList: 5,
  Annotations: 10,
};
/** Any other list (`Referrers` at the root). */
const DEFAULT_LIST_ESTIMATE = 50;
/** What one `__schema` or `__type` costs (the whole introspection of this schema is a few thousand values). */
const INTROSPECTION_COST = 2_000;

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: MAX_DEPTH, maxCost: MAX_COST };

/** The page size a `requestedPage` argument asks for, as the resolvers will apply it. */
export function pageSizeOf(limit: unknown): number {
  return typeof limit === 'number' && limit > 0 ? Math.min(limit, MAX_PAGE) : MAX_PAGE;
}

interface Walk {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  maxDepth: number;
  deepest: number;
}

/**
 * Errors when `operation` of `document` (already validated against `schema`) is too deep or too
 * costly; empty when it may run.
 */
export function checkLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  limits: QueryLimits = DEFAULT_LIMITS,
): GraphQLError[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions)
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const root = operation.operation === OperationTypeNode.QUERY ? schema.getQueryType() : undefined;
  if (!root)
    return [
      new GraphQLError('only queries are supported', { extensions: { code: 'OPERATION_NOT_SUPPORTED' } }),
    ];
  const walk: Walk = { schema, fragments, variables, maxDepth: limits.maxDepth, deepest: 0 };
  const cost = selectionCost(walk, operation.selectionSet, root, 1, MAX_PAGE);
  const errors: GraphQLError[] = [];
  if (walk.deepest > limits.maxDepth) {
    errors.push(
      new GraphQLError(`query is nested ${walk.deepest} deep; at most ${limits.maxDepth} is allowed`, {
        extensions: { code: 'DEPTH_LIMIT_EXCEEDED' },
      }),
    );
  }
  if (cost > limits.maxCost) {
    errors.push(
      new GraphQLError(
        `query costs ${Math.round(Math.min(cost, Number.MAX_SAFE_INTEGER))}, above the limit of ${limits.maxCost}; ask for smaller pages (requestedPage.limit) or fewer fields`,
        { extensions: { code: 'COMPLEXITY_LIMIT_EXCEEDED' } },
      ),
    );
  }
  return errors;
}

function selectionCost(
  walk: Walk,
  set: SelectionSetNode,
  parent: GraphQLCompositeType,
  depth: number,
  pageSize: number,
): number {
  walk.deepest = Math.max(walk.deepest, depth);
  // Past the depth limit the query is refused anyway: stop before a cyclic schema walk explodes.
  if (depth > walk.maxDepth) return 0;
  let cost = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      cost += fieldCost(walk, selection, parent, depth, pageSize);
    } else {
      const fragment =
        selection.kind === Kind.INLINE_FRAGMENT ? selection : walk.fragments.get(selection.name.value);
      if (!fragment) continue;
      const typeName = fragment.typeCondition?.name.value;
      const type = typeName ? walk.schema.getType(typeName) : parent;
      if (type && isObjectType(type))
        cost += selectionCost(walk, fragment.selectionSet, type, depth, pageSize);
      else cost += selectionCost(walk, fragment.selectionSet, parent, depth, pageSize);
    }
  }
  return cost;
}

function fieldCost(
  walk: Walk,
  node: FieldNode,
  parent: GraphQLCompositeType,
  depth: number,
  pageSize: number,
): number {
  const name = node.name.value;
  if (name === '__typename') return 0;
  // Introspection answers are bounded by the schema, not the data, and graphql-js's own rule stops
  // its cycles (fields → type → fields...): a flat price per use, so that aliases still add up.
  if (name === '__schema' || name === '__type') return INTROSPECTION_COST;
  const def = fieldOf(parent, name);
  if (!def) return 1;
  const page = def.args.find((a) => a.name === 'requestedPage');
  let childPage = pageSize;
  if (page) {
    const arg = node.arguments?.find((a) => a.name.value === 'requestedPage');
    const value = arg ? valueFromAST(arg.value, page.type, walk.variables) : undefined;
    childPage = pageSizeOf((value as { limit?: unknown } | undefined)?.limit);
  }
  const nullable = getNullableType(def.type);
  const multiplier = isListType(nullable)
    ? PAGED_LISTS.has(`${parent.name}.${name}`)
      ? pageSize
      : (LIST_ESTIMATES[name] ?? DEFAULT_LIST_ESTIMATE)
    : 1;
  if (!node.selectionSet) return multiplier;
  const named = getNamedType(def.type) as GraphQLCompositeType;
  return 1 + multiplier * selectionCost(walk, node.selectionSet, named, depth + 1, childPage);
}

function fieldOf(parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  return 'getFields' in parent
    ? (parent.getFields()[name] as GraphQLField<unknown, unknown> | undefined)
    : undefined;
}
