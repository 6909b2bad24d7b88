#!/bin/sh
# layers.sh - fail when a product file includes a header of a layer it may not use.
#
# The layers are the folders of filter/ (headers mirrored under include/) and
# rules/. Dependencies point one way, down this table; each line names a layer
# and the layers below it that it may include. A file may always include
# headers of its own layer. filter/README.md explains the layers.
# Prints "FILE:LINE: LAYER may not include HEADER" for each violation; exit 1.
set -eu
cd "$(dirname "$0")/.."

ALLOWED='
daemon:   milter engine outbound report auth dns mail conf rules util
milter:   engine outbound report auth dns mail conf rules util
engine:   outbound report auth dns mail conf rules util
report:   auth dns util
outbound: auth dns mail conf rules util
auth:     dns mail util
conf:     rules mail util
rules:    mail util
dns:      util
mail:     util
util:
'

layer_of() {	# path -> layer name
	case $1 in
	rules/*) echo rules ;;
	filter/*/* | include/*/*) echo "$1" | cut -d/ -f2 ;;
	*) echo "?" ;;
	esac
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
status=0
for f in $(git ls-files -co --exclude-standard 'filter/*.c' 'filter/*.h' 'include/*.h' 'rules/*.c' 'rules/*.h'); do
	[ -f "$f" ] || continue
	me=$(layer_of "$f")
	allowed=$(printf '%s\n' "$ALLOWED" | awk -v l="$me:" '$1 == l { $1 = ""; print }')
	if ! printf '%s\n' "$ALLOWED" | grep -q "^$me:"; then
		echo "$f:1: '$me' is not a layer in tests/layers.sh (a file belongs in a layer folder)"
		status=1
		continue
	fi
	# Every quoted include must name a layer folder: "layer/header.h".
	grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r hit; do
		line=${hit%%:*}
		hdr=$(printf '%s\n' "$hit" | sed 's/^[^"]*"\([^"]*\)".*/\1/')
		target=${hdr%%/*}
		if [ "$target" = "$hdr" ]; then
			echo "$f:$line: include \"$hdr\" names no layer (write \"layer/$hdr\")"
			echo fail
			continue
		fi
		[ "$target" = "$me" ] && continue
		case " $allowed " in
		*" $target "*) ;;
		*) echo "$f:$line: layer '$me' may not include \"$hdr\" (layer '$target')"
		   echo fail ;;
		esac
	done > "$tmp" || true
	if grep -q '^fail$' "$tmp"; then
		grep -v '^fail$' "$tmp"
		status=1
	fi
done
[ $status -eq 0 ] && echo "layers: every include points down"
exit $status
