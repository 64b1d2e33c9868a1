/**
 * Alert names and labels are a contract: crews' routes and Alertmanager inhibitions match on them.
 * These are the pipeline's own (node health, ingest); each kind module names its own (`alerts`),
 * and `KindCatalog.alertNames()` has them all.
 */
export const PIPELINE_ALERTS = ['NodeOffline', 'NodeBatteryLow', 'DataRejectedSurge'] as const;
export type Severity = 'critical' | 'major' | 'minor' | 'info';
export type AlertState = 'firing' | 'acknowledged' | 'resolved';

/** A condition a processor sees right now; the evaluator turns lasting ones into alerts. */
export interface AlertCondition {
  /** A built-in alert name, or one a profile kind defines. */
  alertname: string;
  severity: Severity;
  /** How long the condition must hold before it fires, when not the pipeline's ALERT_HOLD_S (a profile rule's holdS). */
  holdMs?: number;
  /**
   * When the condition began (event time), where the processor knows it from the data (a profile
   * rule): the hold counts from there, so readings that arrive together (a gateway's backlog) prove
   * their own duration. Otherwise it counts from the first evaluation that saw the condition.
   */
  since?: number;
  /** kind, district and the subject (node, circuit, well, station, lot), plus any routing label. */
  labels: Record<string, string>;
  summary: string;
  value?: number;
}

/** Who acts on an alert: the person a crew names (free text) and the role their API token has. */
export interface AlertActor {
  by: string;
  role: string;
}

/** One entry of an alert's trail: an acknowledgement or a note, with who and when. */
export interface AlertNote extends AlertActor {
  at: number;
  action: 'ack' | 'note';
  text?: string;
}

/** Notes kept per alert at most: the oldest go first (an alert must not grow without bound). */
export const MAX_ALERT_NOTES = 100;

export interface Alert {
  /** Stable fingerprint of alertname + labels: the same problem has the same id across restarts. */
  id: string;
  alertname: string;
  severity: Severity;
  labels: Record<string, string>;
  summary: string;
  value?: number;
  state: AlertState;
  /** When the condition was first seen (before the hold time). */
  startsAt: number;
  firedAt: number;
  acknowledgedAt?: number;
  /** Who acknowledged: the person the crew named, else the role of the token. */
  acknowledgedBy?: string;
  /** Where it is (its node, or the centre of its circuit or lot); absent for city-wide alerts. */
  lat?: number;
  lon?: number;
  /** What crews and operators said and did, oldest first (the alert's audit trail, kept with it). */
  notes?: AlertNote[];
  resolvedAt?: number;
  updatedAt: number;
}
