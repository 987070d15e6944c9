// Redis key names in one place, so the cluster's shared state is easy to inspect.
export const keys = {
  members: "archive:members",
  /** Each member's storage level (see src/store/storage-level.ts). */
  memberLevels: "archive:member-levels",
  lease: (shard: number) => `archive:lease:${shard}`,
  epoch: (shard: number) => `archive:epoch:${shard}`,
  enqueued: (shard: number) => `archive:enq:${shard}`,
  applied: (shard: number) => `archive:applied:${shard}`,
  counted: (jobId: string) => `archive:counted:${jobId}`,
  replies: (nodeId: string) => `archive:replies:${nodeId}`,
  queue: (shard: number) => `shard-${shard}`,
  /** Highest seq of each feed queued by any edge: copies at or below it are resends. */
  feedHighWater: "archive:feed-high-water",
};
