#!/usr/bin/env bash
# tools/check-layers.sh: the layer rules of DESIGN 1, checked on every #include "..." in the tree.
#
#   base/      includes base/ only (libc and zlib underneath)
#   engine/    never includes sessions/, tui/, cli/ or plots/
#   plots/     never includes sessions/, engine/, tui/ or cli/
#   sessions/  never includes tui/ or cli/
#   tui/       never includes engine/ or cli/ (it reaches the engine through sessions/)
#   cli/       never includes tui/ internals other than tui/tui.h, nor engine/
#   and no cycle between modules (x.c and x.h are one module: a.c including b.h while b.c includes a.h
#   is a cycle), anywhere.
#
# Quoted includes are resolved as the compiler does (the including file's folder, then the tree root,
# which is -I.).  Prints each violation and exits 1 if there is any; "check-layers: ok (N files, M includes)".
set -euo pipefail
cd "$(dirname "$0")/.."
dirs="base engine sessions plots tui cli"
dirs=$(for d in $dirs; do if [ -d "$d" ]; then echo "$d"; fi; done)
files=$(find $dirs -name '*.[ch]' -o -name '*.cu' 2>/dev/null | sort)
edges=$(for f in $files; do
  d=$(dirname "$f")
  { grep -o '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*"' "$f" || true; } | sed 's/.*"\(.*\)"/\1/' | while read -r inc; do
    if [ -f "$d/$inc" ]; then t=$(realpath --relative-to=. "$d/$inc");
    elif [ -f "$inc" ]; then t=$(realpath --relative-to=. "$inc");
    else t="?$inc"; fi
    echo "$f $t"
  done
done)
printf '%s\n' "$edges" | awk -v nfiles="$(echo "$files" | wc -w)" '
function top(p) { split(p, a, "/"); return a[1] }
function mod(p) { sub(/\.(c|h|cu)$/, "", p); return p }
function bad(from, to,   f, t) {
  f = top(from); t = top(to)
  if (f == "base" && t != "base") return "base/ may include only base/"
  if (f == "engine" && (t == "sessions" || t == "tui" || t == "cli" || t == "plots")) return "engine/ may not include " t "/"
  if (f == "plots" && (t == "sessions" || t == "engine" || t == "tui" || t == "cli")) return "plots/ may not include " t "/"
  if (f == "sessions" && (t == "tui" || t == "cli")) return "sessions/ may not include " t "/"
  if (f == "tui" && (t == "engine" || t == "cli")) return "tui/ may not include " t "/"
  if (f == "cli" && t == "engine") return "cli/ may not include engine/ (call sessions/)"
  if (f == "cli" && t == "tui" && to != "tui/tui.h") return "cli/ may include only tui/tui.h of the TUI"
  return ""
}
NF == 2 {
  n_inc++
  if (substr($2, 1, 1) == "?") { printf "check-layers: %s includes \"%s\", which is not in the tree\n", $1, substr($2, 2); errs++; next }
  why = bad($1, $2)
  if (why != "") { printf "check-layers: %s includes %s: %s\n", $1, $2, why; errs++ }
  mf = mod($1); mt = mod($2)
  if (mf != mt && index(adj[mf] " ", " " mt " ") == 0) { adj[mf] = adj[mf] " " mt; nodes[mf] = 1; nodes[mt] = 1 }
}
function dfs(u,   i, n, vs, v) {
  color[u] = 1; stack[++sp] = u
  n = split(adj[u], vs, " ")
  for (i = 1; i <= n; i++) {
    v = vs[i]
    if (color[v] == 1) {
      for (j = sp; j >= 1 && stack[j] != v; j--) ;
      cyc = stack[j]; for (k = j + 1; k <= sp; k++) cyc = cyc " -> " stack[k]
      printf "check-layers: include cycle: %s -> %s\n", cyc, v; errs++
    }
    else if (color[v] == 0) dfs(v)
  }
  sp--; color[u] = 2
}
END {
  for (u in nodes) if (color[u] == 0) dfs(u)
  if (errs) { printf "check-layers: %d violation(s)\n", errs; exit 1 }
  printf "check-layers: ok (%d files, %d includes)\n", nfiles, n_inc
}'
