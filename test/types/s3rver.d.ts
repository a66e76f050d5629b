// s3rver ships no types: the part the tests use.
declare module "s3rver" {
  import type { RequestListener } from "node:http";
  export default class S3rver {
    constructor(options: {
      directory: string;
      silent?: boolean;
      resetOnClose?: boolean;
      configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
    });
    /** The server as a request handler, to mount on a server the caller listens with. */
    callback(): RequestListener;
    configureBuckets(): Promise<void>;
  }
}

declare module "s3rver/lib/stores/filesystem.js" {
  interface ListOptions {
    delimiter?: string;
    prefix?: string;
    startAfter?: string;
    maxKeys?: number;
  }
  interface Listing {
    objects: { key: string }[];
    commonPrefixes: string[];
    isTruncated: boolean;
  }
  export default class FilesystemStore {
    listObjects(bucket: string, options: ListOptions): Promise<Listing>;
  }
}
