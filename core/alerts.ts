/** Alert names and labels are a contract: crews' routes and Alertmanager inhibitions match on them. */
export const ALERT_NAMES = [
  'StreetlightOut',
  'StreetlightOnInDaytime',
  'CircuitDark',
  'LightingRateBelowTarget',
  'GroundwaterBelowLine',
  'GroundwaterFallingFast',
  'NoiseOverLimit',
  'NoiseNightPeak',
  'ParkingLotFull',
  'NodeOffline',
  'NodeBatteryLow',
  'DataRejectedSurge',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];
export type Severity = 'critical' | 'major' | 'minor' | 'info';
export type AlertState = 'firing' | 'acknowledged' | 'resolved';

/** A condition a processor sees right now; the evaluator turns lasting ones into alerts. */
export interface AlertCondition {
  alertname: AlertName;
  severity: Severity;
  /** kind, district and the subject (node, circuit, well, station, lot), plus any routing label. */
  labels: Record<string, string>;
  summary: string;
  value?: number;
}

export interface Alert {
  /** Stable fingerprint of alertname + labels: the same problem has the same id across restarts. */
  id: string;
  alertname: AlertName;
  severity: Severity;
  labels: Record<string, string>;
  summary: string;
  value?: number;
  state: AlertState;
  /** When the condition was first seen (before the hold time). */
  startsAt: number;
  firedAt: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  resolvedAt?: number;
  updatedAt: number;
}
