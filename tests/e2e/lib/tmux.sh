# tests/e2e/lib/tmux.sh: what every tmux-driven e2e script of the workbench shares, sourced after
# `set -euo pipefail` with TAG set (the temp directory's name): $TOPIARY resolved and checked, tmux
# required, $tmp (removed on exit with the tmux server on its own socket), and
#   T ARGS           tmux on that socket          screen         the window "tui" as text
#   keys KEYS...     send keys to it              ok MSG / fail MSG (the screen and stderr on failure)
#   wait_for TEXT [SECONDS]   poll the screen until it shows TEXT (fixed string), else fail
TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable" >&2; exit 1; }
command -v tmux >/dev/null || { echo "FAIL: tmux is needed (make deps installs it)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-${TAG:-tui}-XXXXXX")
sock="$tmp/tmux.sock"
T() { tmux -S "$sock" "$@"; }
cleanup() {
    T kill-server 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    echo "--- screen ---" >&2
    T capture-pane -p -t tui >&2 2>/dev/null || true; cat "$tmp/stderr" >&2 2>/dev/null || true
    exit 1
}
ok() { echo "ok: $*"; }
screen() { T capture-pane -p -t tui; }
wait_for() {
    local text=$1 limit=${2:-10} i
    for ((i = 0; i < limit * 10; i++)); do
        if screen | grep -qF -- "$text"; then return 0; fi
        sleep 0.1
    done
    fail "the screen never showed '$text' within ${limit}s"
}
keys() { T send-keys -t tui "$@"; }
