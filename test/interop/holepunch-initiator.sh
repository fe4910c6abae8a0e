#!/usr/bin/env bash
# Diagnostic, not a test (see README "Not done yet"): BEP 55 with bt as the initiator. Two network namespaces on a
# veth pair; in the open one a libtorrent relay (10.78.0.3, downloading slowly) and `bt download` (10.78.0.1); in
# the walled one (nftables: inbound only for flows it started) a libtorrent seeder (10.78.0.2) connected out to the
# relay. After SECONDS (default 40) it prints the firewall's counters of what bt and the relay sent to the walled
# seeder, bt's last `holepunch` counts and peers, and libtorrent's ut_holepunch logs; then removes everything.
# Needs root, ip, nft, python3-libtorrent; run from the repository after `npm run build`.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
wait_s=${1:-40}
work=$(mktemp -d /tmp/bt-hp-XXXXXX)
a=bthpdiag$$a; b=bthpdiag$$b
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  ip netns del "$a" 2>/dev/null; ip netns del "$b" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip link add hpdg$$a type veth peer name hpdg$$b
ip link set hpdg$$a netns "$a"; ip link set hpdg$$b netns "$b"
ip -n "$a" addr add 10.78.0.1/24 dev hpdg$$a; ip -n "$a" addr add 10.78.0.3/24 dev hpdg$$a
ip -n "$b" addr add 10.78.0.2/24 dev hpdg$$b
ip -n "$a" link set hpdg$$a up; ip -n "$a" link set lo up
ip -n "$b" link set hpdg$$b up; ip -n "$b" link set lo up
ip netns exec "$b" nft -f - <<'NFT'
table inet bthp {
  chain input {
    type filter hook input priority 0; policy drop;
    iif lo accept
    ct state established,related accept
    ip saddr 10.78.0.1 tcp dport 6883 counter comment "bt, TCP, dropped"
    ip saddr 10.78.0.1 udp dport 6883 counter comment "bt, uTP, dropped"
    ip saddr 10.78.0.3 counter comment "relay, dropped"
  }
}
NFT
cd "$work"
node -e 'const fs=require("fs");fs.mkdirSync("src/hp",{recursive:true});const b=Buffer.alloc(6000000);for(let i=0;i<b.length;i++)b[i]=(i*7)&255;fs.writeFileSync("src/hp/a.bin",b);fs.writeFileSync("src/hp/b.bin",b.subarray(0,500000))'
node "$repo/bin/bt.js" create src/hp -o t.torrent --v1 >/dev/null
py=(/usr/bin/python3 "$repo/test/interop/lt.py")
ip netns exec "$a" "${py[@]}" leech t.torrent --save relay --port 6882 --listen-host 10.78.0.3 --transport utp \
  --download-limit 100000 --stay --timeout 300 --log-holepunch --log-pex 2>relay.err >relay.out &
pids+=($!)
ip netns exec "$b" "${py[@]}" seed t.torrent --save src --port 6883 --listen-host 10.78.0.2 --transport utp \
  --peer 10.78.0.3:6882 --no-pex --log-holepunch --report-peers 2>target.err >target.out &
pids+=($!)
sleep 4
ip netns exec "$a" node "$repo/bin/bt.js" download t.torrent -o bt --bind 10.78.0.1 --port 6881 --no-dht --no-lsd \
  --no-port-mapping --seed --state-dir state --json --peer 10.78.0.3:6882 >bt.out 2>bt.err &
pids+=($!)
sleep "$wait_s"
echo "== firewall of the walled namespace"
ip netns exec "$b" nft list ruleset | grep counter
echo "== bt: last progress (holepunch counts, peers)"
tail -1 bt.out | node -e 'const p=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(JSON.stringify({state:p.state,downloaded:p.downloaded,holepunch:p.holepunch,peers:p.peerList.map((x)=>x.address+" "+x.direction+" "+x.transport)}))'
echo "== bt stderr"; cat bt.err
echo "== walled seeder (lt)"; cat target.err target.out
echo "== relay (lt)"; cat relay.err
