#!/usr/bin/env bash
# `make sql-edition`: writes the SQL edition's three install forms into target/sql_edition/
# (needs only bash and sed; no Rust, no PostgreSQL):
#   extension/   varel_session_sql.control and varel_session_sql--VERSION.sql, for the
#                server's extension directory (CREATE EXTENSION varel_session_sql)
#   varel_session_sql.sql            one file for psql, where no extension files can be added
#   varel_session_sql--pg_tle.sql    for pg_tle (pgtle.install_extension)
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
build_sql_edition "$REPO_ROOT/target/sql_edition"
(cd "$REPO_ROOT/target/sql_edition" && find . -type f -name "varel_session_sql*" | sort) >&2
say "the SQL edition is in target/sql_edition/"
