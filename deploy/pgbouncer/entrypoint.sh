#!/bin/sh
# PgBouncer in transaction pooling mode in front of the primary (database "hibah") and the standby
# ("hibah_replica"). The API runs with HIBAH_DB_STATEMENT_CACHE=false behind it (docs/scaling.md).
set -eu
dir=/tmp/pgbouncer
mkdir -p "$dir"
printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD" > "$dir/userlist.txt"
cat > "$dir/pgbouncer.ini" <<INI
[databases]
hibah = host=${PRIMARY_HOST} port=5432 dbname=${DB_NAME}
hibah_replica = host=${REPLICA_HOST} port=5432 dbname=${DB_NAME}

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
; server connections per database: what PostgreSQL's CPUs can run at once, not the clients' count
default_pool_size = ${POOL_SIZE:-20}
max_client_conn = ${MAX_CLIENT_CONN:-2000}
; asyncpg sends these at connect; PgBouncer passes on only the parameters it tracks
ignore_startup_parameters = extra_float_digits,default_transaction_read_only
server_reset_query =
INI
exec pgbouncer "$dir/pgbouncer.ini"
