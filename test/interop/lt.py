"""libtorrent (python3-libtorrent 2.0) driver for the interop tests.

Run with Debian's interpreter: /usr/bin/python3 test/interop/lt.py SUBCOMMAND ...
Each subcommand prints one JSON object on stdout; failures exit non-zero with a message on stderr.
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


def create(args):
    """Make a v1-only torrent (no v2 hashes, no pad files) with creation date 0."""
    target = os.path.abspath(args.path)
    fs = lt.file_storage()
    lt.add_files(fs, target)
    t = lt.create_torrent(fs, args.piece_length, flags=lt.create_torrent.v1_only)
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
    print(json.dumps({
        "name": ti.name(),
        "info_hash": str(ti.info_hashes().v1),
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
        "name": params.name,
        "trackers": [{"url": url, "tier": tier} for url, tier in zip(params.trackers, params.tracker_tiers)],
        "peers": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in params.peers],
        "url_seeds": list(params.url_seeds),
        # From `so` (BEP 53): 0 for a file left out; empty when the link has no `so`.
        "file_priorities": [int(p) for p in params.file_priorities],
    }))


def loopback_settings(port):
    """Session settings for a peer that only talks to 127.0.0.1 (see /work/shared/INTEROP.md)."""
    return {
        "listen_interfaces": f"127.0.0.1:{port}",
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


def start_torrent(args, settings):
    """A session listening on 127.0.0.1:--port (checked), with TORRENT added from --save. Unless
    --tracker-announce, the torrent's trackers are dropped: the test connects peers itself."""
    session = lt.session(settings)
    listened = wait_for(
        session,
        time.monotonic() + 10,
        lambda a: isinstance(a, lt.listen_failed_alert)
        or (isinstance(a, lt.listen_succeeded_alert) and a.socket_type == lt.socket_type_t.tcp),
    )
    if isinstance(listened, lt.listen_failed_alert):
        raise RuntimeError(f"cannot listen on 127.0.0.1:{args.port}: {listened.message()}")
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(args.torrent)
    params.save_path = os.path.abspath(args.save)
    if not args.tracker_announce:
        params.trackers = []
        params.flags |= lt.torrent_flags.override_trackers
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


def stdin_is_pipe():
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def seed(args):
    """Seed TORRENT from --save on 127.0.0.1:--port until SIGTERM, SIGINT, stdin closing or the parent exiting."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    parent = os.getppid()

    session, handle = start_torrent(args, loopback_settings(args.port))
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
        session.wait_for_alert(200)
        for a in session.pop_alerts():
            if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                log(a.message())
            elif isinstance(a, lt.torrent_checked_alert):
                deadline = min(deadline, time.monotonic() + 2)

    if args.tracker_announce:
        # Announce now, to every tracker (announce_to_all_*), rather than after libtorrent's own delay.
        handle.force_reannounce(0, -1)

    print(json.dumps({"ready": True, "port": session.listen_port(), "info_hash": str(handle.torrent_file().info_hashes().v1)}), flush=True)

    watch_stdin = stdin_is_pipe()
    while not stopping and os.getppid() == parent:
        if watch_stdin:
            readable, _, _ = select.select([sys.stdin], [], [], 0)
            if readable and not os.read(sys.stdin.fileno(), 4096):
                break
        session.wait_for_alert(500)
        for a in session.pop_alerts():
            if isinstance(a, (lt.tracker_error_alert, lt.tracker_warning_alert, lt.torrent_error_alert)):
                log(a.message())
            elif isinstance(a, lt.tracker_reply_alert) and args.verbose:
                log(a.message())

    # Send `stopped` to the trackers on the way out; the session's destructor waits up to stop_tracker_timeout.
    session.remove_torrent(handle)
    del handle, session


def leech(args):
    """Download TORRENT into --save from the given --peer addresses (and the torrent's trackers with
    --tracker-announce); print one JSON line once every piece is verified and the torrent seeds. With --stay, seed
    on until SIGTERM, SIGINT, stdin closing or the parent exiting."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    parent = os.getppid()
    started = time.monotonic()
    deadline = started + args.timeout

    settings = loopback_settings(args.port)
    # Keep connections to seeds once complete, so we can still count what each peer sent when we get there.
    settings["close_redundant_connections"] = False
    session, handle = start_torrent(args, settings)
    peers = []
    for peer in args.peer:
        host, _, port = peer.rpartition(":")
        peers.append((host, int(port)))
    if args.tracker_announce:
        handle.force_reannounce(0, -1)

    # connect_peer puts the address in libtorrent's peer list, which it retries on its own (min_reconnect_time,
    # max_failcount); adding them again every few seconds covers a peer that was not listening yet.
    next_connect = 0.0
    # Payload received from each peer, by the address we see it at (its listening port when we dialled it): sampled
    # as we go and once more at the end, so a peer that left early still counts.
    received = {}

    def sample():
        for p in handle.get_peer_info():
            address = f"{p.ip[0]}:{p.ip[1]}"
            received[address] = max(received.get(address, 0), p.total_download)

    while (st := handle.status()).state != lt.torrent_status.seeding:
        sample()
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
        session.wait_for_alert(200)
        for a in session.pop_alerts():
            if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert, lt.hash_failed_alert)):
                log(a.message())
            elif isinstance(a, lt.tracker_reply_alert) and args.verbose:
                log(a.message())

    # Make sure every piece is on disk before saying so (libtorrent 2.0 writes through memory-mapped files).
    handle.flush_cache()
    sample()
    print(json.dumps({
        "done": True,
        "seconds": round(time.monotonic() - started, 3),
        "info_hash": str(handle.torrent_file().info_hashes().v1),
        "port": session.listen_port(),
        "downloaded": st.total_payload_download,
        "uploaded": st.total_payload_upload,
        "from": received,
    }), flush=True)

    if args.stay:
        watch_stdin = stdin_is_pipe()
        while not stopping and os.getppid() == parent:
            if watch_stdin:
                readable, _, _ = select.select([sys.stdin], [], [], 0)
                if readable and not os.read(sys.stdin.fileno(), 4096):
                    break
            session.wait_for_alert(500)
            for a in session.pop_alerts():
                if isinstance(a, (lt.tracker_error_alert, lt.torrent_error_alert)):
                    log(a.message())

    session.remove_torrent(handle)
    del handle, session


def main():
    parser = argparse.ArgumentParser(prog="lt.py")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("create", help="make a v1-only .torrent from a file or folder")
    p.add_argument("path")
    p.add_argument("--out", required=True)
    p.add_argument("--piece-length", type=int, default=0, help="bytes; 0 lets libtorrent choose")
    p.add_argument("--tracker", action="append", default=[], metavar="URL", help="add URL to tier 0")
    p.add_argument("--tier-tracker", action="append", default=[], nargs=2, metavar=("TIER", "URL"))
    p.add_argument("--private", action="store_true")
    p.add_argument("--comment")
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

    p = commands.add_parser("seed", help="seed a torrent on 127.0.0.1 until SIGTERM or stdin closes")
    p.add_argument("torrent")
    p.add_argument("--save", required=True, help="folder holding the torrent's content (the torrent's name inside it)")
    p.add_argument("--port", type=int, required=True,
                   help="TCP port to listen on, on 127.0.0.1 (libtorrent moves up if it is taken: see the port printed)")
    p.add_argument("--tracker-announce", action="store_true", help="announce to the torrent's trackers at once")
    p.add_argument("--check-timeout", type=float, default=60, help="seconds to wait for the hash check")
    p.add_argument("--upload-limit", type=int, default=0, help="bytes per second for this torrent; 0: no limit")
    p.add_argument("--verbose", action="store_true", help="log tracker replies on stderr")
    p.set_defaults(run=seed)

    p = commands.add_parser("leech", help="download a torrent on 127.0.0.1 from given peers; print a line when done")
    p.add_argument("torrent")
    p.add_argument("--save", required=True, help="folder to download into (the torrent's name is made inside it)")
    p.add_argument("--port", type=int, required=True, help="TCP port to listen on, on 127.0.0.1")
    p.add_argument("--peer", action="append", default=[], metavar="HOST:PORT", help="a peer to connect to (repeatable)")
    p.add_argument("--tracker-announce", action="store_true", help="announce to the torrent's trackers at once")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for the download to complete")
    p.add_argument("--stay", action="store_true", help="after completing, seed until SIGTERM or stdin closes")
    p.add_argument("--verbose", action="store_true", help="log tracker replies on stderr")
    p.set_defaults(run=leech)

    args = parser.parse_args()
    try:
        args.run(args)
    except RuntimeError as e:  # libtorrent raises RuntimeError for unreadable or invalid torrents
        print(f"lt.py {args.command}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
