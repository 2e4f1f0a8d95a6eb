/**
 * The GraphQL queries zot's web UI sends (zui `src/api.js`), with their arguments filled in:
 * shared by the search benchmark (`search.ts`) and the scaling table (`scaling.ts`).
 */
export const QUERIES = {
  home: (sortBy: string) =>
    `{GlobalSearch(query:"", requestedPage: {limit:10 offset:0 sortBy:${sortBy}}) {Page {TotalCount ItemCount} Repos {Name LastUpdated Size Platforms { Os Arch } IsStarred IsBookmarked NewestImage { Tag Vulnerabilities {MaxSeverity Count} Description IsSigned SignatureInfo { Tool IsTrusted Author } Licenses Vendor Labels } StarCount DownloadCount}}}`,
  suggestions: (text: string) =>
    `{GlobalSearch(query:"${text}", requestedPage: {limit:9 offset:0 sortBy:RELEVANCE}) {Page {TotalCount ItemCount} Repos {Name LastUpdated Size Platforms { Os Arch } IsStarred IsBookmarked NewestImage { Tag Vulnerabilities {MaxSeverity Count} Description IsSigned SignatureInfo { Tool IsTrusted Author } Licenses Vendor Labels } StarCount DownloadCount}}}`,
  tags: (repo: string, prefix = '1.') =>
    `{GlobalSearch(query:"${repo}:${prefix}", requestedPage: {limit:15 offset:0 sortBy:RELEVANCE}) {Page {TotalCount ItemCount} Images {RepoName Tag}}}`,
  repoList: () =>
    `{RepoListWithNewestImage(requestedPage: {limit:15 offset:0 sortBy:UPDATE_TIME}){Page {TotalCount ItemCount} Results {Name LastUpdated Size Platforms { Os Arch } NewestImage { Tag Vulnerabilities {MaxSeverity Count} Description IsSigned Licenses Vendor Labels } DownloadCount}}}`,
  expanded: (repo: string) =>
    `{ExpandedRepoInfo(repo:"${repo}"){Images {Manifests {Digest Platform {Os Arch} Size} Vulnerabilities {MaxSeverity Count} Tag LastUpdated Vendor IsDeletable } Summary {Name LastUpdated Size Platforms {Os Arch} Vendors IsStarred IsBookmarked NewestImage {RepoName IsSigned SignatureInfo { Tool IsTrusted Author } Vulnerabilities {MaxSeverity Count} Manifests {Digest} Tag Vendor Title Documentation DownloadCount Source Description Licenses}}}}`,
  image: (repo: string, tag: string) =>
    `{Image(image: "${repo}:${tag}"){RepoName IsSigned SignatureInfo { Tool IsTrusted Author } Vulnerabilities {MaxSeverity Count}  Referrers {MediaType ArtifactType Size Digest Annotations{Key Value}} Tag TaggedTimestamp ArtifactType Manifests {ArtifactType Layers {Size Digest} History {Layer {Size Digest} HistoryDescription {CreatedBy EmptyLayer}} Digest ConfigDigest LastUpdated Size Platform {Os Arch} Referrers {MediaType ArtifactType Size Digest Annotations{Key Value}}} Vendor Licenses }}`,
};
