import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getIntrospectionQuery, getOperationAST, parse } from 'graphql';
import { schema } from './graphql.js';
import { checkLimits, DEFAULT_LIMITS, MAX_COST } from './limits.js';

function codes(query: string, variables: Record<string, unknown> = {}, limits = DEFAULT_LIMITS): string[] {
  const document = parse(query);
  const operation = getOperationAST(document)!;
  return checkLimits(schema, document, operation, variables, limits).map((e) => String(e.extensions.code));
}

describe('query limits', () => {
  it("lets the queries of zot's web UI through", () => {
    const ui = [
      '{ExpandedRepoInfo(repo:"a"){Images {Manifests {Digest Platform {Os Arch} Size} Vulnerabilities {MaxSeverity Count} Tag LastUpdated Vendor IsDeletable } Summary {Name LastUpdated Size Platforms {Os Arch} Vendors IsStarred IsBookmarked NewestImage {RepoName IsSigned SignatureInfo { Tool IsTrusted Author } Vulnerabilities {MaxSeverity Count} Manifests {Digest} Tag Vendor Title Documentation DownloadCount Source Description Licenses}}}}',
      '{Image(image: "a:b"){RepoName IsSigned SignatureInfo { Tool IsTrusted Author } Vulnerabilities {MaxSeverity Count}  Referrers {MediaType ArtifactType Size Digest Annotations{Key Value}} Tag TaggedTimestamp ArtifactType Manifests {ArtifactType Layers {Size Digest} History {Layer {Size Digest} HistoryDescription {CreatedBy EmptyLayer}} Digest ConfigDigest LastUpdated Size Platform {Os Arch} Referrers {MediaType ArtifactType Size Digest Annotations{Key Value}}} Vendor Licenses }}',
      '{GlobalSearch(query:"", requestedPage: {limit:10 offset:0 sortBy:DOWNLOADS}) {Page {TotalCount ItemCount} Repos {Name LastUpdated Size Platforms { Os Arch } IsStarred IsBookmarked NewestImage { Tag Vulnerabilities {MaxSeverity Count} Description IsSigned SignatureInfo { Tool IsTrusted Author } Licenses Vendor Labels } StarCount DownloadCount}}}',
      '{RepoListWithNewestImage{Results{Name NewestImage{Tag Size}}}}',
      getIntrospectionQuery(),
    ];
    for (const query of ui) assert.deepEqual(codes(query), [], query.slice(0, 60));
  });

  it('refuses unbounded lists inside unbounded lists', () => {
    assert.deepEqual(
      codes('{ImageList(repo:""){Results{Manifests{Layers{Digest Size} History{Layer{Digest}}}}}}'),
      ['COMPLEXITY_LIMIT_EXCEEDED'],
    );
  });

  it('reads the page size from variables too', () => {
    const query =
      'query Q($p: PageInput){ImageList(repo:"", requestedPage:$p){Results{Manifests{Layers{Digest Size} History{Layer{Digest}}}}}}';
    assert.deepEqual(codes(query, { p: { limit: 5 } }), []);
    assert.deepEqual(codes(query, { p: { limit: 1000 } }), ['COMPLEXITY_LIMIT_EXCEEDED']);
  });

  it('counts aliases and fragments', () => {
    const fragment =
      'fragment R on PaginatedReposResult { Results { Name NewestImage { Tag Size Manifests { Digest } } } }';
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: RepoListWithNewestImage { ...R }`).join(' ');
    assert.deepEqual(codes(`{${aliases}} ${fragment}`), ['COMPLEXITY_LIMIT_EXCEEDED']);
    assert.ok(MAX_COST > 0);
  });

  it('refuses depth beyond the limit', () => {
    const query = '{Image(image:"a:b"){Manifests{History{Layer{Digest}}}}}';
    assert.deepEqual(codes(query, {}, { ...DEFAULT_LIMITS, maxDepth: 5 }), []);
    assert.deepEqual(codes(query, {}, { ...DEFAULT_LIMITS, maxDepth: 4 }), ['DEPTH_LIMIT_EXCEEDED']);
  });

  it('charges introspection per use', () => {
    const many = Array.from({ length: 40 }, (_, i) => `s${i}: __schema { types { name } }`).join(' ');
    assert.deepEqual(codes(`{${many}}`), ['COMPLEXITY_LIMIT_EXCEEDED']);
  });
});
