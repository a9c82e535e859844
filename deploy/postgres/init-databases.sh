#!/usr/bin/env bash
# Runs once, when the postgres image initialises an empty data volume (docker-entrypoint-initdb.d):
# creates the application role and one database per service (intake, referral, notify, web) owned by it.
set -euo pipefail

: "${JEJARING_DB_USER:?JEJARING_DB_USER must be set}"
: "${JEJARING_DB_PASSWORD:?JEJARING_DB_PASSWORD must be set}"

# psql variables (:'name' / format %I %L) quote the values, so any name or password is safe.
psql_admin() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
    -v app_user="$JEJARING_DB_USER" "$@"
}

psql_admin -v app_password="$JEJARING_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'app_user', :'app_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user')\gexec
SQL

for db in intake referral notify web; do
  psql_admin -v db="$db" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'app_user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db')\gexec
SQL
done
