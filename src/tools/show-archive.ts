import cassandra from "cassandra-driver";
import { formatDateTime } from "../protocol/datetime.ts";
import { prepJid } from "../protocol/jid.ts";

// Prints one user's archive straight from Cassandra (no cqlsh needed):
//   deploy/local/show-archive alice@example.test
async function main(): Promise<void> {
  const owner = prepJid(process.argv[2] ?? "");
  if (!owner) {
    process.stderr.write("usage: show-archive BARE_JID\n");
    process.exit(2);
  }
  const env = process.env;
  const client = new cassandra.Client({
    contactPoints: (env.CASSANDRA_CONTACT_POINTS ?? "127.0.0.1:19042").split(","),
    localDataCenter: env.CASSANDRA_LOCAL_DC ?? "datacenter1",
    keyspace: env.CASSANDRA_KEYSPACE ?? "archive",
  });
  await client.connect();
  try {
    const cols = await client.execute("SELECT start, with_jid, version, count, thread, subject FROM collections WHERE owner = ?", [owner], {
      prepare: true,
    });
    if (cols.rowLength === 0) process.stdout.write(`no collections for ${owner}\n`);
    for (const c of cols.rows) {
      const start = c.get("start") as Date;
      process.stdout.write(
        `collection with=${c.get("with_jid")} start=${formatDateTime(start.getTime())} version=${c.get("version")} items=${c.get("count")}` +
          `${c.get("thread") ? ` thread=${c.get("thread")}` : ""}${c.get("subject") ? ` subject=${c.get("subject")}` : ""}\n`,
      );
      const items = await client.execute(
        "SELECT pos, kind, at, payload FROM items WHERE owner = ? AND with_jid = ? AND start = ?",
        [owner, c.get("with_jid"), start],
        { prepare: true },
      );
      for (const it of items.rows) {
        const at = (it.get("at") as Date).toISOString();
        process.stdout.write(`  #${it.get("pos")} ${it.get("kind")} ${at} ${it.get("payload")}\n`);
      }
    }
  } finally {
    await client.shutdown();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
