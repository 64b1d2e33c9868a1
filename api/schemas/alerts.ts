import { z } from 'zod';

/** Alerts as `/api/v1/alerts` and the acknowledge / note routes answer them: Alert of core/alerts.ts. */
export const alertNoteSchema = z.object({
  by: z.string().describe('the person or crew'),
  role: z.string().describe('the role of the API token'),
  at: z.number(),
  action: z.enum(['ack', 'note']),
  text: z.string().optional(),
});

export const alertSchema = z.object({
  id: z.string().describe('stable fingerprint of alertname + labels'),
  alertname: z.string().describe('a built-in alert name (StreetlightOut, CircuitDark, ...) or one a profile kind defines'),
  severity: z.enum(['critical', 'major', 'minor', 'info']),
  labels: z.record(z.string(), z.string()).describe('kind, district, the subject (node, circuit, well, station, lot) and routing labels'),
  summary: z.string(),
  value: z.number().optional(),
  state: z.enum(['firing', 'acknowledged', 'resolved']),
  startsAt: z.number().describe('first seen, before the hold time (epoch ms)'),
  firedAt: z.number(),
  acknowledgedAt: z.number().optional(),
  acknowledgedBy: z.string().optional(),
  lat: z.number().optional(),
  lon: z.number().optional(),
  notes: z.array(alertNoteSchema).optional().describe('acknowledgements and notes, oldest first'),
  resolvedAt: z.number().optional(),
  updatedAt: z.number(),
});

export const alertListSchema = z.object({ total: z.number(), items: z.array(alertSchema).describe('newest first') });
