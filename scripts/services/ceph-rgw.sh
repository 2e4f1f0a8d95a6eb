#!/usr/bin/env bash
# A throwaway Ceph RADOS Gateway (S3) on loopback for Berth's tests and benchmarks: one monitor,
# one OSD (bluestore on a sparse file) and one radosgw, with no systemd, no manager daemon and no
# authentication between the daemons. Debian packages: ceph-mon ceph-osd radosgw (and curl, node).
#
#   scripts/services/ceph-rgw.sh start DIR   # creates DIR, prints `export` lines, writes DIR/env
#   scripts/services/ceph-rgw.sh stop DIR    # stops the daemons started from DIR, deletes DIR
#
# DIR must be short (unix sockets live under it; their paths are limited to 107 characters) and
# not on tmpfs (bluestore opens its block file with O_DIRECT). DIR/env holds the S3 endpoint and
# keys: BERTH_TEST_S3_ENDPOINT, BERTH_TEST_S3_ACCESS_KEY, BERTH_TEST_S3_SECRET_KEY,
# BERTH_TEST_S3_REGION. Every daemon start is bounded by `timeout`, so a broken machine fails the
# start instead of hanging CI. Why each ceph.conf setting matters is said beside it below.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
(($# == 2)) || usage
action=$1
dir=$2

# A free loopback port, chosen by the kernel.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

log() { echo "ceph-rgw: $*" >&2; }

stop() {
  [[ -d $dir ]] || return 0
  # The daemons started from DIR, by the PIDs they wrote: asked to stop all at once, killed after
  # 3 s (the state is thrown away, so nothing needs a clean shutdown; radosgw takes ~5 s to exit).
  local pids=()
  for name in client.rgw.berth osd.0 mon.a; do
    [[ -f $dir/run/$name.pid ]] && pids+=("$(cat "$dir/run/$name.pid")")
  done
  if ((${#pids[@]} > 0)); then
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 30); do
      kill -0 "${pids[@]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "${pids[@]}" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

# One bucket and one multipart upload, created and deleted, signed by curl (SigV4; curl signs a
# bare `?uploads` differently from the server, hence `?uploads=`).
warm_up() {
  local bucket=$1/berth-warmup
  local s3=(curl -sS --fail --max-time 60 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$2:$3"
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
  "${s3[@]}" -X PUT "$bucket" >/dev/null
  local upload_id etag
  upload_id=$("${s3[@]}" -X POST "$bucket/warmup?uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
  etag=$("${s3[@]}" -X PUT --data-binary warmup -D - -o /dev/null "$bucket/warmup?partNumber=1&uploadId=$upload_id" |
    tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
  "${s3[@]}" -X POST "$bucket/warmup?uploadId=$upload_id" >/dev/null \
    --data-binary "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$etag</ETag></Part></CompleteMultipartUpload>"
  "${s3[@]}" -X DELETE "$bucket/warmup" >/dev/null
  "${s3[@]}" -X DELETE "$bucket" >/dev/null
}

start() {
  local begin
  begin=$(date +%s.%N)
  if [[ -e $dir ]]; then
    log "$dir exists; stop it first"
    exit 1
  fi
  mkdir -p "$dir"/{mon,osd,rgw,run,log}
  dir=$(cd "$dir" && pwd)
  if ((${#dir} > 60)); then
    log "state folder path too long for ceph's unix sockets: $dir"
    exit 1
  fi
  local fsid mon_port rgw_port conf
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mon_port=$(free_port)
  rgw_port=$(free_port)
  conf=$dir/ceph.conf
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port]
# Single machine, nothing to protect between the daemons.
auth cluster required = none
auth service required = none
auth client required = none
# Without it radosgw loops forever on the monitor handshake with auth off and never daemonizes.
ms mon client mode = crc
public addr = 127.0.0.1
cluster addr = 127.0.0.1
keyring = $dir/keyring
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
# One OSD: every pool has one replica, few placement groups, no autoscaler (no manager anyway).
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
# Without it every map change waits a second and start-up takes ~26 s.
paxos propose interval = 0.1
# A test store: keep memory small.
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 67108864

[mon]
mon data = $dir/mon

[osd]
osd data = $dir/osd
osd objectstore = bluestore
# A sparse file, not a device; bluestore creates it (outside osd data, which gets a symlink to it).
bluestore block path = $dir/block
bluestore block create = true
bluestore block size = 21474836480
bluestore fsck on mount = false

[client.rgw.berth]
rgw data = $dir/rgw
# Without tcp_nodelay every small request costs 40-50 ms (Nagle against delayed ACKs).
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
# Deleted data is otherwise freed only after two hours.
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw dns name = 127.0.0.1
EOF

  # The monitor's store, then the monitor.
  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  timeout 30 ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
  timeout 30 ceph-mon -c "$conf" -i a 2>>"$dir/log/start.log"
  # The OSD: registered with the monitor, formatted, started; it adds itself to the CRUSH map.
  local osd_uuid
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  timeout 30 ceph -c "$conf" osd new "$osd_uuid" >/dev/null
  timeout 60 ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$dir/log/mkfs.log"
  timeout 30 ceph-osd -c "$conf" -i 0 2>>"$dir/log/start.log"
  local up=0
  for _ in $(seq 1 300); do
    if timeout 10 ceph -c "$conf" osd dump 2>/dev/null | grep -q '^osd\.0 up'; then
      up=1
      break
    fi
    sleep 0.1
  done
  ((up)) || {
    log "the OSD did not come up (logs in $dir/log)"
    exit 1
  }
  # The gateway creates its pools on first start.
  timeout 60 radosgw -c "$conf" -n client.rgw.berth 2>>"$dir/log/start.log"
  local ready=0
  for _ in $(seq 1 600); do
    if curl -s -o /dev/null "http://127.0.0.1:$rgw_port/"; then
      ready=1
      break
    fi
    sleep 0.1
  done
  ((ready)) || {
    log "radosgw did not answer on 127.0.0.1:$rgw_port (logs in $dir/log)"
    exit 1
  }
  local access secret
  access=berth$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
  secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  timeout 60 radosgw-admin -c "$conf" user create --uid=berth --display-name=berth \
    --access-key="$access" --secret="$secret" >/dev/null
  cat >"$dir/env" <<EOF
export BERTH_TEST_S3_ENDPOINT=http://127.0.0.1:$rgw_port
export BERTH_TEST_S3_ACCESS_KEY=$access
export BERTH_TEST_S3_SECRET_KEY=$secret
export BERTH_TEST_S3_REGION=us-east-1
EOF
  # Pools are created lazily on the first bucket and the first multipart upload (2 s and 5 s):
  # pay that here, once, rather than in the first test that happens to run.
  warm_up "http://127.0.0.1:$rgw_port" "$access" "$secret"
  local end
  end=$(date +%s.%N)
  log "ready on 127.0.0.1:$rgw_port in $(awk "BEGIN { printf \"%.1f\", $end - $begin }") s"
  cat "$dir/env"
}

case $action in
  start)
    # A failed start shows the daemons' last log lines and leaves no daemon behind.
    trap 'status=$?; if ((status != 0)); then tail -n 15 "$dir"/log/* >&2 || true; stop; fi' EXIT
    start
    ;;
  stop) stop ;;
  *) usage ;;
esac
