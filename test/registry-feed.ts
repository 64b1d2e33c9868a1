import { pino, type Logger } from 'pino';
import { MemoryTransport, NodeRegistry, RegistryAudit, RegistryFeed, topicSpecs, type RegistryNode } from '../core/index.js';
import { defaultKinds } from '../core/kinds/modules.js';
import { freshStateDir } from './helpers.js';

/** A registry, its feed and audit trail on an in-process log (files in a fresh STATE_DIR), seeded with `nodes`: what the registry routes need. */
export async function startTestFeed(
  nodes: RegistryNode[] = [],
  stateDir = freshStateDir(),
  logger: Logger = pino({ level: 'silent' }),
): Promise<{ registry: NodeRegistry; feed: RegistryFeed; audit: RegistryAudit; stop: () => Promise<void> }> {
  const kinds = defaultKinds();
  const transport = new MemoryTransport();
  await transport.ensureTopics(topicSpecs(kinds));
  const registry = new NodeRegistry([], [], kinds);
  const feed = new RegistryFeed({
    registry,
    transport,
    producer: await transport.producer(),
    logger: pino({ level: 'silent' }),
    seed: () => new NodeRegistry(nodes, [], kinds),
    stateDir,
  });
  await feed.start();
  const audit = new RegistryAudit({ transport, producer: await transport.producer(), logger, stateDir });
  await audit.start();
  return {
    registry,
    feed,
    audit,
    stop: async () => {
      await audit.stop();
      await feed.stop();
    },
  };
}
