#!/bin/sh
# docs-check.sh - the shipped sample config and the man pages' generated
# sections (DIRECTIVES, rule TARGETS) must say exactly what the tables in
# filter/conf/config_table.c and rules/target.c say. With --write, regenerate them instead of checking.
#   usage: tests/docs-check.sh BUILD/gatehouse [--write]
set -eu
bin=$1
mode=${2:-check}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" -D sample > "$tmp/sample"
"$bin" -D man > "$tmp/man"
"$bin" -D rule-targets > "$tmp/targets"
# Splice the generated section between the markers of the man page template.
awk -v gen="$tmp/man" '
	/^\.\\" BEGIN DIRECTIVES/ { print; while ((getline l < gen) > 0) print l; skip = 1; next }
	/^\.\\" END DIRECTIVES/ { skip = 0 }
	!skip { print }
' "$root/packaging/gatehouse.conf.5.in" > "$tmp/gatehouse.conf.5"
awk -v gen="$tmp/targets" '
	/^\.\\" BEGIN TARGETS/ { print; while ((getline l < gen) > 0) print l; skip = 1; next }
	/^\.\\" END TARGETS/ { skip = 0 }
	!skip { print }
' "$root/packaging/gatehouse.rules.5.in" > "$tmp/gatehouse.rules.5"

if [ "$mode" = "--write" ]; then
	cp "$tmp/sample" "$root/packaging/gatehouse.conf"
	cp "$tmp/gatehouse.conf.5" "$root/packaging/gatehouse.conf.5"
	cp "$tmp/gatehouse.rules.5" "$root/packaging/gatehouse.rules.5"
	echo "docs-check: regenerated packaging/gatehouse.conf, gatehouse.conf.5 and gatehouse.rules.5"
	exit 0
fi

pass=0 fail=0
check() { # name expected actual
	if cmp -s "$2" "$3"; then
		echo "ok - $1"; pass=$((pass + 1))
	else
		echo "not ok - $1 differs from the directive table (run: make docs)"
		diff -u "$3" "$2" | head -20 || true
		fail=$((fail + 1))
	fi
}
check "packaging/gatehouse.conf" "$tmp/sample" "$root/packaging/gatehouse.conf"
check "packaging/gatehouse.conf.5" "$tmp/gatehouse.conf.5" "$root/packaging/gatehouse.conf.5"
check "packaging/gatehouse.rules.5" "$tmp/gatehouse.rules.5" "$root/packaging/gatehouse.rules.5"
# The shipped rule sets compile.
printf 'rules_dir = "%s/rules"\n' "$root" > "$tmp/rules.conf"
if "$bin" -n -c "$tmp/rules.conf" >/dev/null; then
	echo "ok - shipped rule sets compile"; pass=$((pass + 1))
else
	echo "not ok - shipped rule sets do not pass gatehouse -n"; fail=$((fail + 1))
fi
# The sample must itself be a valid configuration.
if "$bin" -n -c "$root/packaging/gatehouse.conf" >/dev/null; then
	echo "ok - sample config is valid"; pass=$((pass + 1))
else
	echo "not ok - sample config does not pass gatehouse -n"; fail=$((fail + 1))
fi
# Every directive appears in the man page.
for name in $(grep -E '^#[a-z_]+ = ' "$root/packaging/gatehouse.conf" | sed 's/^#\([a-z_]*\) =.*/\1/'); do
	if ! grep -q "^\.B $(echo "$name" | sed 's/_/_/g')\$" "$root/packaging/gatehouse.conf.5"; then
		echo "not ok - directive $name missing from gatehouse.conf.5"; fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
