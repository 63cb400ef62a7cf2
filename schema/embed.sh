#!/bin/sh
# Writes a C file that embeds the migrations schema/NNNN_*.sql, in order,
# so that fieldmqd needs no schema directory at run time.
# usage: schema/embed.sh OUTPUT.c schema/0001_x.sql schema/0002_y.sql ...
set -eu
out=$1
shift
{
	echo "/* Generated from the schema/ migrations by schema/embed.sh: do not edit. */"
	echo "#include \"store/schema.h\""
	echo "const struct schema_migration schema_migrations[] = {"
	for f in "$@"; do
		name=$(basename "$f" .sql)
		ver=$(echo "$name" | sed 's/_.*//; s/^0*//')
		printf '\t{ %s, "%s",\n' "$ver" "$name"
		sed 's/\\/\\\\/g; s/"/\\"/g; s/^/\t    "/; s/$/\\n"/' "$f"
		printf '\t},\n'
	done
	echo "};"
	echo "const unsigned schema_nmigrations = sizeof(schema_migrations) / sizeof(schema_migrations[0]);"
} >"$out.tmp"
mv "$out.tmp" "$out"
