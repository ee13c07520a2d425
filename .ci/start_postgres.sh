#!/usr/bin/env bash
# Install (if missing) and start a local PostgreSQL server for the distributed-storage tests.
#
# Result: a server on localhost:5432 where user `postgres` has password `postgres` and the
# database `research_test` exists, i.e. the tests' default URL
#   postgresql://postgres:postgres@localhost:5432/research_test
# works (override it with RESEARCH_TEST_POSTGRES_URL). Nothing is exported. Needs root and apt
# (Debian/Ubuntu); called by .ci/run when CI=true. Safe to run twice.
set -euo pipefail

DB=research_test
PASSWORD=postgres

if [ "$(id -u)" != "0" ]; then
  echo "start_postgres.sh: needs root (apt-get, pg_ctlcluster)" >&2
  exit 1
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { echo "start_postgres.sh: no apt-get to install PostgreSQL" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# Start the first cluster (creating one if the package left none), else fall back to `service`.
if command -v pg_lsclusters >/dev/null 2>&1; then
  if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    pg_createcluster "$version" main >/dev/null
  fi
  read -r version cluster port status _ < <(pg_lsclusters -h | head -n 1)
  if [ "$status" != "online" ]; then
    pg_ctlcluster "$version" "$cluster" start
  fi
else
  service postgresql start
fi

# Wait until it accepts connections (up to ~30 s).
for _ in $(seq 1 30); do
  if su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1; then
    break
  fi
  sleep 1
done

su postgres -c "psql -qAtc \"ALTER USER postgres PASSWORD '$PASSWORD'\"" >/dev/null
if [ "$(su postgres -c "psql -qAtc \"SELECT 1 FROM pg_database WHERE datname = '$DB'\"")" != "1" ]; then
  su postgres -c "createdb $DB"
fi

# Password login over TCP on localhost (the default pg_hba.conf uses scram/md5 for host lines).
if PGPASSWORD=$PASSWORD psql -h localhost -U postgres -d "$DB" -qAtc 'select 1' >/dev/null 2>&1; then
  echo "PostgreSQL ready: postgresql://postgres:***@localhost:5432/$DB"
else
  echo "start_postgres.sh: the server runs but password login on localhost failed" >&2
  exit 1
fi
