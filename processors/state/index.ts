export * from './snapshot.js';
export { FileSnapshotStore, readJsonFile, writeFileAtomic } from './file-store.js';
export { TopicSnapshotStore } from './topic-store.js';
export { readToEnd } from './read-topic.js';
