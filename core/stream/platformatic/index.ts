export {
  PlatformaticTransport,
  PLATFORMATIC_DEFAULTS,
  contractPartitioner,
  type PlatformaticCompression,
  type PlatformaticTransportOptions,
} from './transport.js';
