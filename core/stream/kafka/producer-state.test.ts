import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { producerStateLost } from './transport.js';

/** As kafkajs builds them from the broker's error code (its typings only admit an Error). */
const protocolError = (type: string, code: number, retriable: boolean) =>
  new KafkaJSProtocolError({ type, code, retriable, message: type } as unknown as Error);

describe('producerStateLost: the errors after which the idempotent producer is replaced', () => {
  it('is true for a refused sequence or producer id, also wrapped after retries; false for an outage', () => {
    const outOfOrder = protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER', 45, false);
    expect(producerStateLost(outOfOrder)).toBe(true);
    expect(producerStateLost(protocolError('UNKNOWN_PRODUCER_ID', 59, false))).toBe(true);
    expect(producerStateLost(new KafkaJSNumberOfRetriesExceeded(outOfOrder, { retryCount: 5, retryTime: 1000 }))).toBe(true);
    expect(producerStateLost(protocolError('NOT_LEADER_FOR_PARTITION', 6, true))).toBe(false);
    expect(producerStateLost(new Error('connect ECONNREFUSED 127.0.0.1:9092'))).toBe(false);
    expect(producerStateLost(undefined)).toBe(false);
  });
});
