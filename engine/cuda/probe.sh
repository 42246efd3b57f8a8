#!/bin/sh
# engine/cuda/probe.sh CC NVCC: print the linker flags for the CUDA runtime, cuBLAS and cuSPARSE, or nothing.
#
# CUDA installs put their libraries in different places (lib64, lib, targets/<arch>/lib, the Debian
# multiarch directory) and some ship only the versioned names (libcublas.so.13, no libcublas.so).
# Each candidate directory is tried with a real test link (and a run of the linked program, so the
# loader finds every dependency), first with the plain names, then with the versioned files found
# there; the first that works wins. Used by the Makefile at parse time.
cc=${1:-cc}
nvcc=$2
[ -n "$nvcc" ] || exit 0
home=$(dirname "$(dirname "$(readlink -f "$nvcc")")")
tmp=$(mktemp -d) || exit 0
trap 'rm -rf "$tmp"' EXIT
printf 'int main(void){return 0;}\n' > "$tmp/t.c"
try() { # $1 dir, rest: libs.  Links, and the result starts (the loader finds every dependency).
    d=$1; shift
    "$cc" "$tmp/t.c" -o "$tmp/t" -L"$d" -Wl,-rpath,"$d" -Wl,--no-as-needed "$@" >/dev/null 2>&1 && "$tmp/t" >/dev/null 2>&1
}
for d in "$home/lib64" "$home/lib" "$home/targets/x86_64-linux/lib" /usr/local/cuda/lib64 \
         /usr/local/cuda/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
    [ -d "$d" ] || continue
    if try "$d" -lcusparse -lcublas -lcudart; then
        echo "-L$d -Wl,-rpath,$d -lcusparse -lcublas -lcudart"; exit 0
    fi
    sp=$(ls "$d"/libcusparse.so.* 2>/dev/null | sort -V | tail -n 1)
    blas=$(ls "$d"/libcublas.so.* 2>/dev/null | sort -V | tail -n 1)
    rt=$(ls "$d"/libcudart.so.* 2>/dev/null | sort -V | tail -n 1)
    [ -n "$sp" ] && [ -n "$blas" ] && [ -n "$rt" ] || continue
    sp=${sp##*/}; blas=${blas##*/}; rt=${rt##*/}
    if try "$d" -l:"$sp" -l:"$blas" -l:"$rt"; then
        echo "-L$d -Wl,-rpath,$d -l:$sp -l:$blas -l:$rt"; exit 0
    fi
done
exit 0
