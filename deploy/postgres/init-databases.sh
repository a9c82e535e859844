#!/usr/bin/env bash
# One PostgreSQL role per service (intake, referral, notify, report, web), each the owner of its
# own database and unable to connect to any other: notify's credentials cannot read intake's
# victims.
# The postgres image runs it once, when it initialises an empty data volume
# (docker-entrypoint-initdb.d). It can be run again by hand, e.g. after changing a password in
# .env: it creates what is missing and sets each role's password and database owner.
#
# Needs <SERVICE>_DB_PASSWORD for each service (INTAKE_DB_PASSWORD, …) and POSTGRES_USER; psql
# reaches the server as the image's entrypoint sets it up, or through PGHOST/PGPORT/PGPASSWORD.
# JEJARING_DB_PREFIX (default empty) prefixes every role and database name, for a shared cluster.
set -euo pipefail

: "${POSTGRES_USER:?POSTGRES_USER must be set}"
prefix="${JEJARING_DB_PREFIX:-}"

# psql variables (:'name' / format %I %L) quote the values, so any name or password is safe.
for service in intake referral notify report web; do
  password_var="${service^^}_DB_PASSWORD"
  : "${!password_var:?$password_var must be set}"
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname postgres \
    -v name="$prefix$service" -v password="${!password_var}" <<'SQL'
SELECT format('CREATE ROLE %I', :'name')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name')\gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
              :'name', :'password')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')\gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'name', :'name')\gexec
-- Only the owner (and superusers) may connect; no other service's role can even log in here.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name')\gexec
SQL
done
