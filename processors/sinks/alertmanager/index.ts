export {
  startAlertmanagerNotifier,
  toPostableAlert,
  ALERTMANAGER_SINK_GROUP,
  NOTIFIER_DEFAULTS,
  type AlertmanagerNotifier,
  type AlertmanagerNotifierOptions,
  type PostableAlert,
} from './notifier.js';
