"""libtorrent (python3-libtorrent 2.0) driver for the interop tests.

Run with Debian's interpreter: /usr/bin/python3 test/interop/lt.py SUBCOMMAND ...
Each subcommand prints one JSON object on stdout; failures exit non-zero with a message on stderr.
"""

import argparse
import json
import os
import sys

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

    args = parser.parse_args()
    try:
        args.run(args)
    except RuntimeError as e:  # libtorrent raises RuntimeError for unreadable or invalid torrents
        print(f"lt.py {args.command}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
