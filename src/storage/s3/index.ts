/**
 * Opens the S3 driver from its settings (the config layer's `s3DriverSettings` produces them; the
 * storage layer never imports config).
 */
import { createS3Client, type S3ConnectionOptions } from './client.js';
import { S3Driver } from './driver.js';

export { S3Driver } from './driver.js';

export interface S3DriverSettings extends S3ConnectionOptions {
  bucket: string;
  /** Key prefix; '' for the bucket's root. */
  rootDirectory: string;
  /** Multipart part size in bytes; the driver's default when absent. */
  partSize?: number | undefined;
}

export function openS3Driver(settings: S3DriverSettings): S3Driver {
  return new S3Driver({
    client: createS3Client(settings),
    bucket: settings.bucket,
    rootDirectory: settings.rootDirectory,
    ...(settings.partSize !== undefined ? { partSize: settings.partSize } : {}),
  });
}
