export {
  startMosquitto,
  ensureMosquitto,
  findMosquitto,
  mosquittoVersion,
  mosquittoConfig,
  MOSQUITTO_DEBIAN_PACKAGE,
  type MosquittoServer,
  type StartMosquittoOptions,
} from './server.js';
export { mosquittoService } from './service.js';
