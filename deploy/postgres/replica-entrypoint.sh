#!/bin/sh
# A streaming standby: on first start, copy the primary with pg_basebackup -R (which writes primary_conninfo
# and standby.signal), then run PostgreSQL read-only, following the primary. Later starts reuse the copy.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h "$PRIMARY_HOST" -U "$REPLICATION_USER" -q; do sleep 1; done
    export PGPASSWORD="$REPLICATION_PASSWORD"
    pg_basebackup -h "$PRIMARY_HOST" -U "$REPLICATION_USER" -D "$PGDATA" -R -X stream -c fast
    chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on -c max_connections=200
