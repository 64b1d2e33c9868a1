import { freshStateDir } from '../../../test/helpers.js';
import { streamContract } from '../contract.js';
import { FileTransport, type FileTransportOptions } from './transport.js';

let n = 0;
const fresh = (options: Partial<FileTransportOptions>) => async () => ({
  transport: new FileTransport({ dir: freshStateDir(), retryDelayMs: 10, ...options }),
  prefix: `t${++n}`,
});
streamContract('file', fresh({}), { retainsCommitted: true });
// No record cache and tiny segments: every read seeks through the index into the files, across segments.
streamContract('file, read from the segment files', fresh({ cacheBytes: 0, segmentBytes: 512 }), { retainsCommitted: true });
