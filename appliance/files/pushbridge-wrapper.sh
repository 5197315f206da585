#!/bin/sh
# pushbridge: launches the bundled program on the runtime shipped beside it
# (the offline fallback of `deno compile`; same CLI, same behaviour).
here=$(dirname "$(readlink -f "$0")")
lib="$here/../lib"
# The runtime keeps its code cache here; the appliance points it at the data partition.
export DENO_DIR="${DENO_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/pushbridge-deno}"
export DENO_NO_UPDATE_CHECK=1
exec "$lib/deno" run --quiet --no-prompt --no-config --no-lock @PERMISSIONS@ "$lib/pushbridge.js" "$@"
