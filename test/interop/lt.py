"""libtorrent (python3-libtorrent 2.0) driver for the interop tests.

Run with Debian's interpreter: /usr/bin/python3 test/interop/lt.py SUBCOMMAND ...
Each subcommand prints one JSON object on stdout (`leech --report-peers` adds a line per peer connection); failures
exit non-zero with a message on stderr.
`seed` prints its line once it is ready and keeps running until SIGTERM (or its stdin pipe closes).
"""

import argparse
import json
import os
import select
import signal
import stat
import sys
import time

import libtorrent as lt


CREATE_FLAGS = {"v1": lt.create_torrent.v1_only, "hybrid": 0, "v2": lt.create_torrent.v2_only}


def create(args):
    """Make a torrent with creation date 0: v1-only (no v2 hashes, no pad files) unless --kind says hybrid or v2."""
    target = os.path.abspath(args.path)
    fs = lt.file_storage()
    lt.add_files(fs, target)
    t = lt.create_torrent(fs, args.piece_length, flags=CREATE_FLAGS[args.kind])
    for url in args.tracker:
        t.add_tracker(url, 0)
    for tier, url in args.tier_tracker:
        t.add_tracker(url, int(tier))
    t.set_priv(args.private)
    if args.comment is not None:
        t.set_comment(args.comment)
    lt.set_piece_hashes(t, os.path.dirname(target))
    entry = t.generate()
    entry[b"creation date"] = 0
    with open(args.out, "wb") as f:
        f.write(lt.bencode(entry))
    info(argparse.Namespace(file=args.out))


def relative_path(fs, index):
    """Path of a file relative to the torrent root, components joined by "/".

    file_storage.file_path(i) joins with the OS separator and starts with the torrent name for a
    multi-file torrent ("name/dir/file"); for a single-file torrent it is just the name ("name").
    We drop the leading name component when there is more than one, so a multi-file torrent holding a
    single file gives "file", and a single-file torrent gives its name.
    """
    parts = fs.file_path(index).split(os.sep)
    return "/".join(parts[1:] if len(parts) > 1 else parts)


def info(args):
    ti = lt.torrent_info(args.file)
    fs = ti.files()
    files = [
        {"path": relative_path(fs, i), "size": fs.file_size(i), "offset": fs.file_offset(i)}
        for i in range(fs.num_files())
        if not fs.file_flags(i) & lt.file_storage.flag_pad_file
    ]
    # libtorrent shuffles the URLs within each tier when it loads a torrent (BEP 12); order across
    # tiers is kept. Sort within a tier so the output is deterministic.
    trackers = sorted(({"url": t.url, "tier": t.tier} for t in ti.trackers()), key=lambda t: (t["tier"], t["url"]))
    hashes = ti.info_hashes()
    # libtorrent checks `piece layers` against each file's root when it loads a torrent: these are ones it accepted.
    with open(args.file, "rb") as f:
        layers = lt.bdecode(f.read()).get(b"piece layers", {})
    print(json.dumps({
        "name": ti.name(),
        "info_hash": str(hashes.v1) if hashes.has_v1() else None,
        "info_hash_v2": str(hashes.v2) if hashes.has_v2() else None,
        # v2 roots of the files listed in "files", in order ("" for an empty file or a v1 torrent).
        "roots": [
            str(fs.root(i)) if hashes.has_v2() and fs.file_size(i) > 0 else ""
            for i in range(fs.num_files())
            if not fs.file_flags(i) & lt.file_storage.flag_pad_file
        ],
        "piece_layers": {root.hex(): layer.hex() for root, layer in layers.items()},
        "num_pieces": ti.num_pieces(),
        "piece_length": ti.piece_length(),
        "total_size": ti.total_size(),
        "files": files,
        "trackers": trackers,
        "private": ti.priv(),
    }))


def magnet(args):
    """The magnet link libtorrent makes for a .torrent."""
    print(json.dumps({"magnet": lt.make_magnet_uri(lt.torrent_info(args.file))}))


def parse_magnet(args):
    """A magnet link as libtorrent reads it (no session, no network)."""
    params = lt.parse_magnet_uri(args.uri)
    print(json.dumps({
        "info_hash": str(params.info_hashes.v1),
        "info_hash_v2": str(params.info_hashes.v2) if params.info_hashes.has_v2() else None,
        "name": params.name,
        "trackers": [{"url": url, "tier": tier} for url, tier in zip(params.trackers, params.tracker_tiers)],
        "peers": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in params.peers],
        "url_seeds": list(params.url_seeds),
        # From `so` (BEP 53): 0 for a file left out; empty when the link has no `so`.
        "file_priorities": [int(p) for p in params.file_priorities],
    }))


def loopback_settings(port, host="127.0.0.1"):
    """Session settings for a peer that only talks to 127.0.0.1, or to ::1 given host "::1" (see
    /work/shared/INTEROP.md)."""
    return {
        "listen_interfaces": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "out_enc_policy": lt.enc_policy.disabled,
        "in_enc_policy": lt.enc_policy.disabled,
        "allow_multiple_connections_per_ip": True,
        "upload_rate_limit": 0,
        "download_rate_limit": 0,
        "min_reconnect_time": 1,
        "max_failcount": 100,
        # Leave within the harness's grace period (2 s) after sending `stopped`.
        "stop_tracker_timeout": 1,
        # By default libtorrent announces to one tracker only and, of an http:// and a udp:// tracker on the same
        # host, picks the udp:// one (prefer_udp_trackers) in whatever tier: the http:// one would never list us.
        "announce_to_all_tiers": True,
        "announce_to_all_trackers": True,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification,
    }


def start_session(port, settings):
    """A session listening on 127.0.0.1:PORT; raises if it cannot listen there."""
    session = lt.session(settings)
    listened = wait_for(
        session,
        time.monotonic() + 10,
        lambda a: isinstance(a, lt.listen_failed_alert)
        or (isinstance(a, lt.listen_succeeded_alert) and a.socket_type == lt.socket_type_t.tcp),
    )
    if isinstance(listened, lt.listen_failed_alert):
        raise RuntimeError(f"cannot listen on 127.0.0.1:{port}: {listened.message()}")
    return session


def start_torrent(args, settings):
    """A session listening on 127.0.0.1:--port (checked), with TORRENT added from --save: a .torrent file, or with
    `leech-magnet` a magnet link. Unless --tracker-announce, the torrent's trackers are dropped: the test connects
    peers itself. With --no-pex the torrent neither sends nor takes PEX (it still names ut_pex in its handshake)."""
    if args.log_pex or args.log_holepunch:
        settings["alert_mask"] |= lt.alert.category_t.peer_log_notification
    session = start_session(args.port, apply_dht(settings, args.dht_node))
    join_dht(session, args.dht_node)
    if getattr(args, "magnet", False):
        params = lt.parse_magnet_uri(args.torrent)
    else:
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(args.torrent)
    params.save_path = os.path.abspath(args.save)
    if not args.tracker_announce:
        params.trackers = []
        params.flags |= lt.torrent_flags.override_trackers
    if args.no_pex:
        params.flags |= lt.torrent_flags.disable_pex
    return session, session.add_torrent(params)


def log(message):
    print(f"lt.py: {message}", file=sys.stderr, flush=True)


def wait_for(session, deadline, done):
    """Pops alerts until done(alert) is true; raises RuntimeError at the deadline. Logs errors on the way."""
    while time.monotonic() < deadline:
        session.wait_for_alert(200)
        for a in session.pop_alerts():
            if isinstance(a, (lt.listen_failed_alert, lt.tracker_error_alert, lt.torrent_error_alert)):
                log(a.message())
            if done(a):
                return a
    raise RuntimeError("no awaited alert before the deadline")


def pop_alerts(session, args, started, wait_ms):
    """Waits up to wait_ms for alerts and returns them, having logged on stderr the errors among them, tracker
    replies with --verbose, and with --log-pex libtorrent's own log of PEX messages sent and received."""
    session.wait_for_alert(wait_ms)
    alerts = session.pop_alerts()
    for a in alerts:
        if isinstance(a, (lt.tracker_error_alert, lt.tracker_warning_alert, lt.torrent_error_alert, lt.file_error_alert,
                          lt.hash_failed_alert, lt.metadata_failed_alert)):
            log(a.message())
        elif isinstance(a, lt.tracker_reply_alert) and args.verbose:
            log(a.message())
        elif isinstance(a, lt.peer_log_alert) and (
            (args.log_pex and "PEX" in a.message()) or (args.log_holepunch and "HOLEPUNCH" in a.message())
        ):
            log(f"{time.monotonic() - started:.3f} s: {a.message()}")
    return alerts


def stdin_is_pipe():
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def until_stopped(session, args, started, stopping, parent, each=lambda: None):
    """Runs until SIGTERM or SIGINT (recorded in `stopping`), stdin closing or the parent exiting; calls each()
    every half second."""
    watch_stdin = stdin_is_pipe()
    while not stopping and os.getppid() == parent:
        if watch_stdin:
            readable, _, _ = select.select([sys.stdin], [], [], 0)
            if readable and not os.read(sys.stdin.fileno(), 4096):
                break
        each()
        pop_alerts(session, args, started, 500)


def dht_announcer(handle, args):
    """With the DHT on: a function that announces the torrent there (and looks for peers) every 3 s, rather than
    at libtorrent's own interval (15 min), so a test need not wait; a no-op otherwise."""
    next_at = [0.0]

    def each():
        now = time.monotonic()
        if args.dht_node and now >= next_at[0]:
            handle.force_dht_announce()
            next_at[0] = now + 3

    return each


def on_stop_signals():
    """A list that gets an entry on SIGTERM or SIGINT."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    return stopping


# Bits of peer_info.source: how libtorrent heard of a peer.
PEER_SOURCES = ((1, "tracker"), (2, "dht"), (4, "pex"), (8, "lsd"), (16, "resume_data"), (32, "incoming"))


# peer_info::utp_socket (bit 17 of the flags, between holepunched and rc4_encrypted): the python bindings do not
# name it.
UTP_SOCKET = 1 << 17


class PeerWatch:
    """The torrent's connected peers, sampled: payload received from each, by the address we see it at (its listening
    port when we dialled it), kept after it leaves; with `report`, a JSON line on stdout for each new connection once
    its handshake is done, and again when its client name changes (its extended handshake came):
    {"peer": "HOST:PORT", "peer_id": hex, "client", "outgoing", "utp", "encrypted", "source": [...], "seconds"}."""

    def __init__(self, handle, report, started):
        self.handle = handle
        self.report = report
        self.started = started
        self.received = {}
        self.reported = set()

    def sample(self):
        for p in self.handle.get_peer_info():
            address = f"{p.ip[0]}:{p.ip[1]}"
            self.received[address] = max(self.received.get(address, 0), p.total_download)
            if not self.report or p.flags & (lt.peer_info.connecting | lt.peer_info.handshake):
                continue
            peer_id = p.pid.to_bytes().hex()
            # The `v` of its extended handshake, or until that comes a name made from its peer id (bytes here).
            client = p.client.decode("utf-8", "replace") if isinstance(p.client, bytes) else p.client
            if (address, peer_id, client) in self.reported:
                continue
            self.reported.add((address, peer_id, client))
            print(json.dumps({
                "peer": address,
                "peer_id": peer_id,
                "client": client,
                "outgoing": bool(p.flags & lt.peer_info.local_connection),
                "utp": bool(p.flags & UTP_SOCKET),
                "encrypted": bool(p.flags & lt.peer_info.rc4_encrypted),
                # Made through a BEP 55 rendezvous (libtorrent's peer_info::holepunched).
                "holepunched": bool(p.flags & lt.peer_info.holepunched),
                "source": [name for bit, name in PEER_SOURCES if p.source & bit],
                "seconds": round(time.monotonic() - self.started, 3),
            }), flush=True)


def seed(args):
    """Seed TORRENT from --save on 127.0.0.1:--port until SIGTERM, SIGINT, stdin closing or the parent exiting."""
    stopping = on_stop_signals()
    parent = os.getppid()
    started = time.monotonic()

    settings = apply_transport(apply_encryption(loopback_settings(args.port, args.listen_host), args.encryption), args.transport)
    if args.lsd:
        settings["enable_lsd"] = True
    session, handle = start_torrent(args, settings)
    if args.upload_limit > 0:
        # A per-torrent limit: unlike the session's, it also holds for peers on the local network.
        handle.set_upload_limit(args.upload_limit)

    # Wait for the hash check to find every piece. Once it is over (torrent_checked_alert), a torrent that is not
    # seeding within a moment lacks data: fail then rather than at the deadline.
    deadline = time.monotonic() + args.check_timeout
    while (st := handle.status()).state != lt.torrent_status.seeding:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not seeding after the check: state {st.state}, progress {st.progress:.3f}")
        if st.errc.value() != 0:
            raise RuntimeError(f"torrent error: {st.errc.message()}")
        if any(isinstance(a, lt.torrent_checked_alert) for a in pop_alerts(session, args, started, 200)):
            deadline = min(deadline, time.monotonic() + 2)

    if args.tracker_announce:
        # Announce now, to every tracker (announce_to_all_*), rather than after libtorrent's own delay.
        handle.force_reannounce(0, -1)

    print(json.dumps({"ready": True, "port": session.listen_port(), "info_hash": str(handle.torrent_file().info_hashes().v1)}), flush=True)

    announce = dht_announcer(handle, args)
    peers = parse_peers(args.peer)
    watch = PeerWatch(handle, args.report_peers, started)

    def each():
        announce()
        watch.sample()
        for peer in peers:
            handle.connect_peer(peer)

    until_stopped(session, args, started, stopping, parent, each)
    # Send `stopped` to the trackers on the way out; the session's destructor waits up to stop_tracker_timeout.
    session.remove_torrent(handle)
    del handle, session


def parse_peers(addresses):
    """HOST:PORT and [IPV6]:PORT as libtorrent's (host, port)."""
    peers = []
    for peer in addresses:
        host, _, port = peer.rpartition(":")
        peers.append((host.strip("[]"), int(port)))
    return peers


def leech(args):
    """Download TORRENT (with `leech-magnet`, a magnet link: its metadata first) into --save from the given --peer
    addresses (and the trackers with --tracker-announce); print one JSON line once every piece is verified and the
    torrent seeds. With --stay, seed on until SIGTERM, SIGINT, stdin closing or the parent exiting."""
    stopping = on_stop_signals()
    parent = os.getppid()
    started = time.monotonic()
    deadline = started + args.timeout

    settings = apply_transport(apply_encryption(loopback_settings(args.port, args.listen_host), args.encryption), args.transport)
    # Keep connections to seeds once complete, so we can still count what each peer sent when we get there.
    settings["close_redundant_connections"] = False
    session, handle = start_torrent(args, settings)
    if args.download_limit > 0:
        handle.set_download_limit(args.download_limit)
    peers = parse_peers(args.peer)
    if args.tracker_announce:
        handle.force_reannounce(0, -1)

    # connect_peer puts the address in libtorrent's peer list, which it retries on its own (min_reconnect_time,
    # max_failcount); adding them again every few seconds covers a peer that was not listening yet.
    next_connect = 0.0
    announce = dht_announcer(handle, args)
    watch = PeerWatch(handle, args.report_peers, started)
    metadata_seconds = None

    while (st := handle.status()).state != lt.torrent_status.seeding:
        watch.sample()
        now = time.monotonic()
        if now > deadline:
            raise RuntimeError(
                f"not complete within {args.timeout} s: state {st.state}, progress {st.progress:.3f}, "
                f"{st.num_peers} peers, {st.total_payload_download} bytes downloaded"
            )
        if stopping or os.getppid() != parent:
            raise RuntimeError("stopped before the download completed")
        if st.errc.value() != 0:
            raise RuntimeError(f"torrent error: {st.errc.message()}")
        if now >= next_connect:
            for peer in peers:
                handle.connect_peer(peer)
            next_connect = now + 3
        announce()
        for a in pop_alerts(session, args, started, 200):
            if isinstance(a, lt.metadata_received_alert) and metadata_seconds is None:
                metadata_seconds = round(time.monotonic() - started, 3)

    # Make sure every piece is on disk before saying so (libtorrent 2.0 writes through memory-mapped files).
    handle.flush_cache()
    watch.sample()
    ti = handle.torrent_file()
    print(json.dumps({
        "done": True,
        "seconds": round(time.monotonic() - started, 3),
        "info_hash": str(ti.info_hashes().v1),
        "name": ti.name(),
        "total_size": ti.total_size(),
        "port": session.listen_port(),
        "downloaded": st.total_payload_download,
        "uploaded": st.total_payload_upload,
        "from": watch.received,
        # With leech-magnet: when libtorrent had the metadata (metadata_received_alert).
        **({} if metadata_seconds is None else {"metadata_seconds": metadata_seconds}),
    }), flush=True)

    if args.stay:
        until_stopped(session, args, started, stopping, parent, watch.sample)

    session.remove_torrent(handle)
    del handle, session


def add_peer_options(p):
    """Options of every subcommand that runs a torrent."""
    p.add_argument("--no-pex", action="store_true", help="neither send nor take PEX (ut_pex) for this torrent")
    p.add_argument("--log-pex", action="store_true", help="log libtorrent's PEX messages, sent and received, on stderr")
    p.add_argument("--log-holepunch", action="store_true",
                   help="log libtorrent's BEP 55 (ut_holepunch) messages, sent and received, on stderr")
    p.add_argument("--verbose", action="store_true", help="log tracker replies on stderr")
    p.add_argument("--dht-node", action="append", default=[], metavar="HOST:PORT",
                   help="run the DHT, joined through this node only (repeatable; default: no DHT)")
    p.add_argument("--encryption", choices=["disabled", "enabled", "forced"], default="disabled",
                   help="MSE/PE both ways: disabled (plaintext only, the default), enabled (either), forced (RC4 only)")
    p.add_argument("--transport", choices=["tcp", "utp", "both"], default="tcp",
                   help="peer connections over tcp (the default), utp only (TCP off both ways) or both")


def apply_dht(settings, nodes):
    """With DHT nodes given (HOST:PORT, all on 127.0.0.1), the DHT on, joined through them only. Several nodes on
    one address are kept apart (dht_restrict_routing_ips off), as every node of a loopback test shares 127.0.0.1."""
    if nodes:
        settings["enable_dht"] = True
        settings["dht_restrict_routing_ips"] = False
        settings["dht_restrict_search_ips"] = False
    return settings


def join_dht(session, nodes):
    """Adds the nodes to the routing table (a node in dht_bootstrap_nodes would count as a router and stay out)."""
    for node in nodes:
        host, _, port = node.rpartition(":")
        session.add_dht_node((host.strip("[]"), int(port)))


def dht_node(args):
    """A DHT node and nothing else, on 127.0.0.1:--port, joined through --dht-node (none: it waits to be found);
    prints a ready line with its port and runs until SIGTERM, SIGINT, stdin closing or the parent exiting."""
    stopping = on_stop_signals()
    parent = os.getppid()
    settings = apply_dht(loopback_settings(args.port, args.listen_host), ["-"])
    session = start_session(args.port, settings)
    join_dht(session, args.dht_node)
    print(json.dumps({"ready": True, "port": session.listen_port()}), flush=True)
    watch_stdin = stdin_is_pipe()
    while not stopping and os.getppid() == parent:
        if watch_stdin:
            readable, _, _ = select.select([sys.stdin], [], [], 0)
            if readable and not os.read(sys.stdin.fileno(), 4096):
                break
        session.wait_for_alert(500)
        session.pop_alerts()
    del session


def apply_encryption(settings, mode):
    """libtorrent's MSE/PE policy for both directions; `forced` also allows RC4 only (no plaintext after MSE)."""
    policy = {"disabled": lt.enc_policy.disabled, "enabled": lt.enc_policy.enabled, "forced": lt.enc_policy.forced}[mode]
    settings["out_enc_policy"] = policy
    settings["in_enc_policy"] = policy
    if mode == "forced":
        settings["allowed_enc_level"] = lt.enc_level.rc4
    return settings


def apply_transport(settings, mode):
    """Which transports libtorrent speaks, both directions: tcp (the default here), utp (BEP 29 only: TCP off both
    ways) or both."""
    settings["enable_outgoing_tcp"] = mode != "utp"
    settings["enable_incoming_tcp"] = mode != "utp"
    settings["enable_outgoing_utp"] = mode != "tcp"
    settings["enable_incoming_utp"] = mode != "tcp"
    return settings


def main():
    parser = argparse.ArgumentParser(prog="lt.py")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("create", help="make a .torrent (v1-only unless --kind) from a file or folder")
    p.add_argument("path")
    p.add_argument("--out", required=True)
    p.add_argument("--piece-length", type=int, default=0, help="bytes; 0 lets libtorrent choose")
    p.add_argument("--tracker", action="append", default=[], metavar="URL", help="add URL to tier 0")
    p.add_argument("--tier-tracker", action="append", default=[], nargs=2, metavar=("TIER", "URL"))
    p.add_argument("--private", action="store_true")
    p.add_argument("--comment")
    p.add_argument("--kind", choices=sorted(CREATE_FLAGS), default="v1", help="v1 (the default), hybrid or v2")
    p.set_defaults(run=create)

    p = commands.add_parser("info", help="describe a .torrent as libtorrent reads it")
    p.add_argument("file")
    p.set_defaults(run=info)

    p = commands.add_parser("magnet", help="print the magnet link libtorrent makes for a .torrent")
    p.add_argument("file")
    p.set_defaults(run=magnet)

    p = commands.add_parser("parse-magnet", help="describe a magnet link as libtorrent reads it")
    p.add_argument("uri")
    p.set_defaults(run=parse_magnet)

    p = commands.add_parser("dht-node", help="a DHT node on 127.0.0.1 and nothing else, until SIGTERM or stdin closes")
    p.add_argument("--port", type=int, required=True, help="UDP (and TCP) port to listen on, on 127.0.0.1")
    p.add_argument("--dht-node", action="append", default=[], metavar="HOST:PORT", help="a node to join through")
    p.add_argument("--listen-host", default="127.0.0.1", help="the loopback address to listen on: 127.0.0.1 or ::1")
    p.set_defaults(run=dht_node)

    p = commands.add_parser("seed", help="seed a torrent on 127.0.0.1 until SIGTERM or stdin closes")
    p.add_argument("torrent")
    p.add_argument("--listen-host", default="127.0.0.1", help="the loopback address to listen on: 127.0.0.1 or ::1")
    p.add_argument("--save", required=True, help="folder holding the torrent's content (the torrent's name inside it)")
    p.add_argument("--port", type=int, required=True,
                   help="TCP port to listen on, on 127.0.0.1 (libtorrent moves up if it is taken: see the port printed)")
    p.add_argument("--tracker-announce", action="store_true", help="announce to the torrent's trackers at once")
    p.add_argument("--check-timeout", type=float, default=60, help="seconds to wait for the hash check")
    p.add_argument("--upload-limit", type=int, default=0, help="bytes per second for this torrent; 0: no limit")
    p.add_argument("--lsd", action="store_true",
                   help="Local Service Discovery (BEP 14) on: only inside a network namespace, never on a real LAN")
    p.add_argument("--peer", action="append", default=[], metavar="HOST:PORT",
                   help="a peer to connect to (repeatable; connected again every half second if it drops)")
    p.add_argument("--report-peers", action="store_true",
                   help="print a JSON line for each peer connection once its handshake is done")
    add_peer_options(p)
    p.set_defaults(run=seed)

    for name, what in (("leech", "a torrent"), ("leech-magnet", "a magnet link (metadata first)")):
        p = commands.add_parser(name, help=f"download {what} on 127.0.0.1 from given peers; print a line when done")
        p.add_argument("torrent", metavar="URI" if name == "leech-magnet" else "torrent")
        p.add_argument("--save", required=True, help="folder to download into (the torrent's name is made inside it)")
        p.add_argument("--port", type=int, required=True, help="TCP port to listen on, on 127.0.0.1")
        p.add_argument("--listen-host", default="127.0.0.1", help="the loopback address to listen on: 127.0.0.1 or ::1")
        p.add_argument("--peer", action="append", default=[], metavar="HOST:PORT", help="a peer to connect to (repeatable)")
        p.add_argument("--tracker-announce", action="store_true", help="announce to the torrent's trackers at once")
        p.add_argument("--timeout", type=float, default=60, help="seconds to wait for the download to complete")
        p.add_argument("--stay", action="store_true", help="after completing, seed until SIGTERM or stdin closes")
        p.add_argument("--download-limit", type=int, default=0, help="bytes per second for this torrent; 0: no limit")
        p.add_argument("--report-peers", action="store_true",
                       help="print a JSON line for each peer connection once its handshake is done")
        add_peer_options(p)
        p.set_defaults(run=leech, magnet=name == "leech-magnet")

    args = parser.parse_args()
    try:
        args.run(args)
    except RuntimeError as e:  # libtorrent raises RuntimeError for unreadable or invalid torrents
        print(f"lt.py {args.command}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
