#!/usr/bin/env bash
# tests/pg/run.sh CLUSTER_DIR DB VAR -- COMMAND... - run COMMAND with VAR set
# to the registry URL of database DB on the private test cluster that the
# ctest fixture pg.cluster.start started in CLUSTER_DIR. Exits 77 (ctest:
# skipped) with a loud message when that cluster is not there because the
# PostgreSQL server binaries are missing.
set -euo pipefail
dir=$1 db=$2 var=$3
shift 3
[ "${1:-}" = -- ] && shift
if [ ! -S "$dir/.s.PGSQL.5432" ]; then
  echo "SKIP: no PostgreSQL test cluster in $dir (PostgreSQL server binaries missing?" \
       "scripts/install-deps installs them)" >&2
  exit 77
fi
export "$var=postgresql://postgres@/$db?host=$dir"
exec "$@"
