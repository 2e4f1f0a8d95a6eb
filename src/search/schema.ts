/**
 * The search extension's GraphQL schema, in SDL: zot's types, fields and arguments by the same
 * names (zot's web UI and `zli` send queries written against zot), so a query valid on zot is valid
 * here. Byte counts (`Size`) are strings, as in zot, because GraphQL's Int is 32-bit. `Time` is an
 * RFC 3339 string. What Berth leaves empty is listed in docs/configuration.md ("Search").
 */
export const SEARCH_SCHEMA = /* GraphQL */ `
  scalar Time

  type CVEResultForImage {
    Tag: String
    CVEList: [CVE]
    Summary: ImageVulnerabilitySummary
    Page: PageInfo
  }

  type ImageIdentifier {
    Repo: String!
    Tag: String!
    Digest: String
    Platform: Platform
  }

  type CVEDiffResult {
    Minuend: ImageIdentifier!
    Subtrahend: ImageIdentifier!
    CVEList: [CVE]
    Summary: ImageVulnerabilitySummary
    Page: PageInfo
  }

  type CVE {
    Id: String
    Title: String
    Description: String
    Reference: String
    Severity: String
    PackageList: [PackageInfo]
  }

  type PackageInfo {
    Name: String
    PackagePath: String
    InstalledVersion: String
    FixedVersion: String
  }

  type RepoInfo {
    Images: [ImageSummary]
    Summary: RepoSummary
  }

  type GlobalSearchResult {
    Page: PageInfo
    Images: [ImageSummary]
    Repos: [RepoSummary]
    "Always empty: zot does not search layers either."
    Layers: [LayerSummary]
  }

  type ImageSummary {
    RepoName: String
    Tag: String
    Digest: String
    MediaType: String
    Manifests: [ManifestSummary]
    Size: String
    DownloadCount: Int
    LastPullTimestamp: Time
    PushTimestamp: Time
    PushedBy: String
    TaggedTimestamp: Time
    LastUpdated: Time
    Description: String
    IsSigned: Boolean
    SignatureInfo: [SignatureSummary]
    Licenses: String
    Labels: String
    Title: String
    Source: String
    Documentation: String
    Vendor: String
    Authors: String
    Vulnerabilities: ImageVulnerabilitySummary
    Referrers: [Referrer]
    IsDeletable: Boolean
    ArtifactType: String
  }

  type ManifestSummary {
    Digest: String
    ConfigDigest: String
    LastUpdated: Time
    Size: String
    IsSigned: Boolean
    SignatureInfo: [SignatureSummary]
    Platform: Platform
    DownloadCount: Int
    Layers: [LayerSummary]
    History: [LayerHistory]
    Vulnerabilities: ImageVulnerabilitySummary
    Referrers: [Referrer]
    ArtifactType: String
  }

  type ImageVulnerabilitySummary {
    MaxSeverity: String
    Count: Int
    UnknownCount: Int
    LowCount: Int
    MediumCount: Int
    HighCount: Int
    CriticalCount: Int
  }

  type RepoSummary {
    Name: String
    LastUpdated: Time
    Size: String
    Platforms: [Platform]
    Vendors: [String]
    NewestImage: ImageSummary
    DownloadCount: Int
    StarCount: Int
    IsBookmarked: Boolean
    IsStarred: Boolean
    Rank: Int
  }

  type LayerSummary {
    Size: String
    Digest: String
  }

  type HistoryDescription {
    Created: Time
    CreatedBy: String
    Author: String
    Comment: String
    EmptyLayer: Boolean
  }

  type LayerHistory {
    Layer: LayerSummary
    HistoryDescription: HistoryDescription
  }

  type Annotation {
    Key: String
    Value: String
  }

  type Referrer {
    MediaType: String
    ArtifactType: String
    Size: Int
    Digest: String
    Annotations: [Annotation]!
  }

  type Platform {
    Os: String
    Arch: String
  }

  type SignatureSummary {
    Tool: String
    IsTrusted: Boolean
    Author: String
  }

  enum SortCriteria {
    RELEVANCE
    UPDATE_TIME
    ALPHABETIC_ASC
    ALPHABETIC_DSC
    SEVERITY
    STARS
    DOWNLOADS
  }

  type PageInfo {
    TotalCount: Int!
    ItemCount: Int!
  }

  input PageInput {
    limit: Int
    offset: Int
    sortBy: SortCriteria
  }

  input PlatformInput {
    Os: String
    Arch: String
  }

  input ImageInput {
    Repo: String!
    Tag: String!
    Digest: String
    Platform: PlatformInput
  }

  type PaginatedReposResult {
    Page: PageInfo
    Results: [RepoSummary!]!
  }

  type PaginatedImagesResult {
    Page: PageInfo
    Results: [ImageSummary!]!
  }

  input Filter {
    Os: [String]
    Arch: [String]
    HasToBeSigned: Boolean
    IsBookmarked: Boolean
    IsStarred: Boolean
  }

  type Query {
    CVEListForImage(
      image: String!
      requestedPage: PageInput
      searchedCVE: String
      excludedCVE: String
      severity: String
    ): CVEResultForImage!
    CVEDiffListForImages(
      minuend: ImageInput!
      subtrahend: ImageInput!
      requestedPage: PageInput
      searchedCVE: String
      excludedCVE: String
    ): CVEDiffResult!
    ImageListForCVE(id: String!, filter: Filter, requestedPage: PageInput): PaginatedImagesResult!
    ImageListWithCVEFixed(
      id: String!
      image: String!
      filter: Filter
      requestedPage: PageInput
    ): PaginatedImagesResult!
    ImageListForDigest(id: String!, requestedPage: PageInput): PaginatedImagesResult!
    RepoListWithNewestImage(requestedPage: PageInput): PaginatedReposResult!
    ImageList(repo: String!, requestedPage: PageInput): PaginatedImagesResult!
    ExpandedRepoInfo(repo: String!): RepoInfo!
    GlobalSearch(query: String!, filter: Filter, requestedPage: PageInput): GlobalSearchResult!
    DerivedImageList(image: String!, digest: String, requestedPage: PageInput): PaginatedImagesResult!
    BaseImageList(image: String!, digest: String, requestedPage: PageInput): PaginatedImagesResult!
    Image(image: String!): ImageSummary!
    Referrers(repo: String!, digest: String!, type: [String!]): [Referrer]!
    StarredRepos(requestedPage: PageInput): PaginatedReposResult!
    BookmarkedRepos(requestedPage: PageInput): PaginatedReposResult!
  }
`;
