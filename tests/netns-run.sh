#!/usr/bin/env bash
# Runs a command inside a fresh private network namespace with loopback and one veth pair (TESTING.md):
# WebRTC gathers candidates on the veth address, and no packet can leave the machine.
# Usage: tests/netns-run.sh <command...>   (re-executes itself under `unshare -n` when needed; needs root)
set -euo pipefail
if [ "${HEARTHNET_IN_NETNS:-}" != "1" ]; then
  export HEARTHNET_IN_NETNS=1
  exec unshare -n "$0" "$@"
fi
ip link set lo up
ip link add v0 type veth peer name v1
ip addr add 10.200.0.1/24 dev v0
ip addr add 10.200.0.2/24 dev v1
ip link set v0 up
ip link set v1 up
ip route add default via 10.200.0.2 dev v0
exec "$@"
