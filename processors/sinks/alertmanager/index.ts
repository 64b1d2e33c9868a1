export {
  startAlertmanagerNotifier,
  toPostableAlert,
  ALERTMANAGER_SINK_GROUP,
  type AlertmanagerNotifier,
  type AlertmanagerNotifierOptions,
  type PostableAlert,
} from './notifier.js';
