#!/usr/bin/env bash
# tests/pg/cluster.sh start|stop SOURCE_DIR CLUSTER_DIR - the ctest fixture
# around the PostgreSQL tests: start a private cluster (one database per
# test, so tests run in parallel) or stop and remove it. Missing server
# binaries are not a failure here: the tests then skip loudly (tests/pg/run.sh).
set -uo pipefail
cmd=$1 src=$2 dir=$3
case $cmd in
  start)
    "$src/scripts/pg-test-cluster" start "$dir" unit_registry unit_approve unit_groupcommit unit_list_index \
      cli_lifecycle pg_instances pg_restart pg_copy pg_backup unit_sessions pg_sessions
    rc=$?
    if [ $rc -eq 3 ]; then
      echo "SKIP: PostgreSQL tests will be skipped: no server binaries" >&2
      exit 0
    fi
    exit $rc ;;
  stop) "$src/scripts/pg-test-cluster" stop "$dir" ;;
esac
