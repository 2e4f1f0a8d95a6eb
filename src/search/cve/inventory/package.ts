/** One package an image has installed, as the scanner matches it against OSV. */
export interface InstalledPackage {
  /** OSV's ecosystem name, with the distribution release where OSV writes one (`Debian:12`). */
  ecosystem: string;
  /** The name shown (a binary package, a module). */
  name: string;
  /** The name OSV files advisories under (Debian's and Alpine's source packages); `name` when the same. */
  matchName?: string;
  version: string;
  /** The version OSV's ranges speak of (the source version of a binNMU); `version` when the same. */
  matchVersion?: string;
  /** The file the package was found in, for language packages. */
  path?: string;
}
