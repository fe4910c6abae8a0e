/** `GET /metrics`: the Client's figures in Prometheus's text exposition format (version 0.0.4). Pure. */
import type { SessionStats, TorrentSnapshot, TorrentStatus } from "../client/Client.js"
import { statusCode } from "../client/Client.js"

export interface MetricsInput {
  readonly stats: SessionStats
  readonly torrents: ReadonlyArray<TorrentSnapshot>
  /** Nodes in the DHT routing table; undefined when the daemon runs no DHT node. */
  readonly dhtNodes: number | undefined
}

const metric = (name: string, type: "gauge" | "counter", help: string, samples: ReadonlyArray<readonly [string, number]>) =>
  [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map(([labels, value]) => `${name}${labels} ${value}`)]

export const metricsText = ({ dhtNodes, stats, torrents }: MetricsInput): string => {
  const byStatus = new Map<TorrentStatus, number>()
  let peers = 0
  let stalled = 0
  let errors = 0
  let diskQueue = 0
  for (const t of torrents) {
    diskQueue += t.diskQueueBytes
    byStatus.set(t.status, (byStatus.get(t.status) ?? 0) + 1)
    peers += t.peersConnected
    if (t.isStalled) stalled++
    if (t.error !== 0) errors++
  }
  const statuses = Object.keys(statusCode) as Array<TorrentStatus>
  const lines = [
    ...metric("bt_download_rate_bytes", "gauge", "Payload download rate, bytes per second.", [["", stats.downloadSpeed]]),
    ...metric("bt_upload_rate_bytes", "gauge", "Payload upload rate, bytes per second.", [["", stats.uploadSpeed]]),
    ...metric("bt_downloaded_bytes_total", "counter", "Payload bytes downloaded since this process started.", [
      ["", stats.current.downloadedBytes]
    ]),
    ...metric("bt_uploaded_bytes_total", "counter", "Payload bytes uploaded since this process started.", [
      ["", stats.current.uploadedBytes]
    ]),
    ...metric("bt_peers_connected", "gauge", "Peer connections over all torrents.", [["", peers]]),
    ...metric(
      "bt_torrents",
      "gauge",
      "Torrents by state.",
      statuses.map((status) => [`{state="${status}"}`, byStatus.get(status) ?? 0] as const)
    ),
    ...metric("bt_torrents_stalled", "gauge", "Active torrents that do not move.", [["", stalled]]),
    ...metric("bt_disk_queue_bytes", "gauge", "Bytes of complete pieces waiting to be hashed and written.", [
      ["", diskQueue]
    ]),
    ...metric("bt_torrents_with_error", "gauge", "Torrents reporting an error or a tracker warning.", [["", errors]]),
    ...(dhtNodes === undefined
      ? []
      : metric("bt_dht_nodes", "gauge", "Nodes in the DHT routing table.", [["", dhtNodes]]))
  ]
  return `${lines.join("\n")}\n`
}
