#!/usr/bin/env bash
# Build the no_std, no-alloc crate aecodec-core (plus optional extra packages) in release
# mode for the Cortex-M targets we ship, for every shipped feature combination, and prove
# that nothing in the build links the `alloc` crate.
#
# Usage:
#   scripts/build-thumb.sh [EXTRA_PACKAGE ...]     e.g. scripts/build-thumb.sh aecodec-firmware
#       Extra package names may also be comma-separated. aecodec-core is always built.
#   scripts/build-thumb.sh --check-no-alloc TARGET FILE...
#       Only run the no-alloc check below on already built .rlib files or ELF executables.
#       The rlib check reads metadata with ${RUSTC:-rustc}, which must be the compiler that
#       built the file: use RUSTC=/usr/bin/rustc for files from the debian route.
#
# Environment:
#   CARGO_TARGET_DIR  default thumb/ in the workspace's target directory (apart from the
#                     host build cache)
#   THUMB_TARGETS     default "thumbv6m-none-eabi thumbv7em-none-eabihf"
#   THUMB_FEATURE_SETS  replaces the shipped feature combinations below (space-separated,
#                     same notation), e.g. "aecodec-firmware/defmt"
#   THUMB_ROUTE       auto (default) | rustup | debian   (pin the route, e.g. for size numbers)
#
# Toolchain route, chosen per target (see DESIGN.md "Building for microcontrollers"):
#   rustup  the target is in `rustup target list --installed`:
#             cargo build --release --target T
#   debian  otherwise, Debian's rustc-web/cargo-web/rust-web-src (Rust 1.96 + library source):
#             RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo build --release \
#                 -Zbuild-std=core --target T
#           (no -Zbuild-std-features needed: cargo builds compiler_builtins with its
#           `mem` feature itself when std is not among the built crates.)
#
# Prints one summary line per target/feature combination; exits non-zero if any
# build or check failed (all combinations are still attempted, so the log shows them all).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/target-dir.sh"
ORIG_PWD="$PWD"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

read -r -a TARGETS <<<"${THUMB_TARGETS:-thumbv6m-none-eabi thumbv7em-none-eabihf}"
# Feature combinations that ship. Written as package/feature so that they can be passed
# together with extra packages (e.g. firmware) that have no feature of that name.
# A set starting with "no-default:" is built with --no-default-features: the
# full-integer-only core of a firmware without an FPU (aecodec-core's precision features).
FEATURE_SETS=("" "aecodec-core/fast-math" "no-default:aecodec-core/int8-full")
[[ -z "${THUMB_FEATURE_SETS:-}" ]] || read -r -a FEATURE_SETS <<<"$THUMB_FEATURE_SETS"
ROUTE_PREF="${THUMB_ROUTE:-auto}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cargo_target_dir "$ROOT")/thumb}"
# Cargo caches rustc's target probes here, failures included; a probe that once failed
# (seen on a fresh clone when the QEMU test's nested build ran) would fail every later
# build. Probing again costs a fraction of a second.
rm -f "$CARGO_TARGET_DIR/.rustc_info.json"
LOG_DIR="$CARGO_TARGET_DIR/build-thumb-logs"

DEBIAN_RUSTC=/usr/bin/rustc
DEBIAN_CARGO=/usr/bin/cargo

say() { printf '[build-thumb] %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------
# The no-alloc proof.
#
# For an .rlib: a crate's metadata records every upstream crate that was loaded while
# compiling it, transitively (the whole dependency graph, sysroot crates included:
# core, compiler_builtins, alloc, std). `rustc -Zls=root` prints that list under
# "=External Dependencies=". If any crate anywhere in the graph has `extern crate alloc`
# (directly, or through a dependency feature such as serde/alloc, postcard/alloc,
# heapless/...), `alloc-<hash>` (or `std-<hash>`) is in that list and the check fails.
# To keep the check from passing vacuously, it also requires the list to be present and to
# contain `core-<hash>`, and the crate's `triple` to be the target: a changed output
# format, a foreign rlib or a rustc version mismatch (the reading rustc must be the one that
# built the rlib) makes it fail, never pass. -Zls is unstable, hence RUSTC_BOOTSTRAP=1 (it
# only reads metadata here). Verified to fail on a crate with `extern crate alloc`.
# Why not `cargo tree -e features`: its output mixes host-only proc-macro crates (which
# use std) with target crates, and a feature being named "alloc" is a convention, not proof.
# On the debian route there is a second, independent guarantee: -Zbuild-std=core builds
# only core and compiler_builtins, so a crate needing alloc would not even compile.
#
# For an ELF executable (e.g. firmware, later) there is no crate metadata; the linked
# symbols are checked instead: no allocator shim (__rust_alloc, __rust_dealloc, ...,
# __rust_no_alloc_shim_is_unstable, __rust_alloc_error_handler) and no symbol from the
# alloc crate (legacy mangling _ZN5alloc..., v0 mangling ...Cs<hash>_5alloc...).
# ---------------------------------------------------------------------------------------
find_nm() {
    local c
    for c in llvm-nm-22 llvm-nm rust-nm nm; do
        if command -v "$c" >/dev/null 2>&1; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

# check_no_alloc RUSTC TARGET FILE -> 0 if proven alloc-free; prints the reason otherwise.
check_no_alloc() {
    local rustc_bin="$1" target="$2" file="$3" out deps nm syms
    if [[ ! -f "$file" ]]; then
        echo "no-alloc check: $file does not exist"
        return 1
    fi
    case "$file" in
    *.rlib)
        if ! out="$(RUSTC_BOOTSTRAP=1 "$rustc_bin" -Zls=root --target "$target" "$file" 2>&1)"; then
            echo "no-alloc check: '$rustc_bin -Zls=root' failed on $file: $out"
            return 1
        fi
        if ! grep -qx "triple $target" <<<"$out"; then
            echo "no-alloc check: $file is not a $target crate (or -Zls output changed): $(head -5 <<<"$out")"
            return 1
        fi
        deps="$(sed -n '/^=External Dependencies=$/,/^$/p' <<<"$out")"
        if ! grep -qE '^[0-9]+ core-[0-9a-f]+ ' <<<"$deps"; then
            echo "no-alloc check: no 'core' in the external crate list of $file (-Zls output changed?)"
            return 1
        fi
        if grep -E '^[0-9]+ (alloc|std)-[0-9a-f]+ ' <<<"$deps"; then
            echo "no-alloc check: $file depends on the crate(s) above"
            return 1
        fi
        ;;
    *)
        if ! nm="$(find_nm)"; then
            echo "no-alloc check: no llvm-nm/nm found to inspect $file (apt-get install llvm-22)"
            return 1
        fi
        if ! syms="$("$nm" "$file" 2>&1)"; then
            echo "no-alloc check: $nm failed on $file: $syms"
            return 1
        fi
        if [[ -z "$syms" ]]; then
            echo "no-alloc check: no symbols in $file (stripped?), cannot prove anything"
            return 1
        fi
        if grep -E '__rust_(alloc|dealloc|realloc|alloc_zeroed|no_alloc_shim_is_unstable|alloc_error_handler)|__rdl_alloc|__rg_alloc|_ZN5alloc|Cs[0-9A-Za-z]*_5alloc' <<<"$syms" | head -5; then
            echo "no-alloc check: $file links allocator/alloc-crate symbols (above)"
            return 1
        fi
        ;;
    esac
    return 0
}

if [[ "${1:-}" == "--check-no-alloc" ]]; then
    [[ $# -ge 3 ]] || { say "usage: $0 --check-no-alloc TARGET FILE..."; exit 2; }
    target="$2"
    shift 2
    cd "$ORIG_PWD" # FILE arguments are relative to the caller's directory
    rc=0
    for f in "$@"; do
        if msg="$(check_no_alloc "${RUSTC:-rustc}" "$target" "$f")"; then
            echo "no-alloc: ok   $f"
        else
            echo "$msg"
            echo "no-alloc: FAIL $f"
            rc=1
        fi
    done
    exit "$rc"
fi

# ---------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------
PACKAGES=(aecodec-core)
for arg in "$@"; do
    IFS=',' read -r -a names <<<"$arg"
    for n in "${names[@]}"; do
        n="${n//[[:space:]]/}"
        [[ -z "$n" ]] && continue
        [[ " ${PACKAGES[*]} " == *" $n "* ]] || PACKAGES+=("$n")
    done
done

# ---------------------------------------------------------------------------------------
# Toolchain route
# ---------------------------------------------------------------------------------------
RUSTUP_INSTALLED_TARGETS=""
if command -v rustup >/dev/null 2>&1; then
    RUSTUP_INSTALLED_TARGETS="$(rustup target list --installed 2>/dev/null || true)"
fi

route_for() {
    local target="$1"
    case "$ROUTE_PREF" in
    rustup | debian) echo "$ROUTE_PREF" ;;
    auto)
        if grep -qx "$target" <<<"$RUSTUP_INSTALLED_TARGETS"; then
            echo rustup
        else
            echo debian
        fi
        ;;
    *)
        say "THUMB_ROUTE must be auto, rustup or debian (got '$ROUTE_PREF')"
        exit 2
        ;;
    esac
}

debian_ready() {
    local missing=()
    [[ -x "$DEBIAN_RUSTC" ]] || missing+=("$DEBIAN_RUSTC (rustc-web)")
    [[ -x "$DEBIAN_CARGO" ]] || missing+=("$DEBIAN_CARGO (cargo-web)")
    if [[ -x "$DEBIAN_RUSTC" ]]; then
        local sysroot
        sysroot="$("$DEBIAN_RUSTC" --print sysroot)"
        [[ -d "$sysroot/lib/rustlib/src/rust/library/core" ]] ||
            missing+=("$sysroot/lib/rustlib/src/rust/library (rust-web-src)")
    fi
    if [[ ${#missing[@]} -gt 0 ]]; then
        say "debian route unavailable, missing: ${missing[*]}"
        say "install with: apt-get update && apt-get install -y rustc-web cargo-web rust-web-src lld-22 llvm-22"
        return 1
    fi
}

# Only needed to link executables (rlibs are not linked): the thumb targets link with
# rust-lld. Debian ships /usr/bin/rust-lld (package rust-web-llvm, pulled in by
# rustc-web); a rustup toolchain has it under its sysroot.
ensure_rust_lld() {
    command -v rust-lld >/dev/null 2>&1 && return 0
    local r sysroot host dir
    for r in rustc "$DEBIAN_RUSTC"; do
        command -v "$r" >/dev/null 2>&1 || continue
        sysroot="$("$r" --print sysroot 2>/dev/null)" || continue
        host="$("$r" -vV 2>/dev/null | sed -n 's/^host: //p')"
        dir="$sysroot/lib/rustlib/${host:-x86_64-unknown-linux-gnu}/bin"
        if [[ -x "$dir/rust-lld" ]]; then
            export PATH="$PATH:$dir"
            say "rust-lld: appended $dir to PATH"
            return 0
        fi
    done
    say "warning: rust-lld not found; linking thumb executables will fail (rlibs are fine)"
}
ensure_rust_lld

# ---------------------------------------------------------------------------------------
# Build + check one target/feature combination
# ---------------------------------------------------------------------------------------
mkdir -p "$LOG_DIR"
FAILED=0
SUMMARY=()

run_combo() {
    local target="$1" features="$2" route cargo_cmd=() cargo_bin rustc_bin version json
    local start end secs status="OK" detail="" pkgargs=() p
    route="$(route_for "$target")"
    if [[ "$route" == rustup ]]; then
        rustc_bin="${RUSTC:-rustc}"
        cargo_bin=cargo
        cargo_cmd=(cargo build --release --target "$target")
    else
        if ! debian_ready; then
            SUMMARY+=("$(printf 'FAIL  %-22s features=%-24s route=debian  (toolchain missing)' \
                "$target" "${features:--}")")
            FAILED=1
            return
        fi
        rustc_bin="$DEBIAN_RUSTC"
        cargo_bin="$DEBIAN_CARGO"
        cargo_cmd=(env RUSTC_BOOTSTRAP=1 RUSTC="$DEBIAN_RUSTC" "$DEBIAN_CARGO"
            build --release -Zbuild-std=core --target "$target")
    fi
    version="$("$rustc_bin" -V | awk '{print $2}')"
    for p in "${PACKAGES[@]}"; do pkgargs+=(-p "$p"); done
    if [[ "$features" == no-default:* ]]; then
        features="${features#no-default:}"
        pkgargs+=(--no-default-features)
    fi
    [[ -n "$features" ]] && pkgargs+=(--features "$features")

    json="$LOG_DIR/$target${2:+-${2//[\/:]/_}}.json"
    say "== $target features=${2:--} route=$route (rustc $version)"
    say "   ${cargo_cmd[*]} ${pkgargs[*]}"
    start=$(date +%s%N)
    # JSON (for artifact paths) on stdout, human-readable diagnostics on stderr.
    if "${cargo_cmd[@]}" "${pkgargs[@]}" --message-format=json-render-diagnostics >"$json"; then
        :
    else
        status="FAIL"
        detail="cargo build failed (errors above)"
    fi
    end=$(date +%s%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')

    if [[ "$status" == OK ]]; then
        local pkgid lines files f msg nfiles=0 feat fpkg fname
        for p in "${PACKAGES[@]}"; do
            # The JSON package_id is the same package ID spec that `cargo pkgid` prints.
            if ! pkgid="$("$cargo_bin" pkgid -p "$p")"; then
                status="FAIL"
                detail="cargo pkgid -p $p failed"
                break
            fi
            lines="$(grep -F '"reason":"compiler-artifact"' "$json" | grep -F "\"package_id\":\"$pkgid\"" || true)"
            if [[ -z "$lines" ]]; then
                status="FAIL"
                detail="no artifact for $p in $json"
                break
            fi
            # Feature combos must really have been applied to the package they name.
            if [[ -n "$features" ]]; then
                for feat in ${features//,/ }; do
                    fpkg="${feat%%/*}"
                    fname="${feat#*/}"
                    if [[ "$fpkg" == "$p" ]] && ! grep -qF "\"$fname\"" <<<"$(grep -o '"features":\[[^]]*\]' <<<"$lines")"; then
                        status="FAIL"
                        detail="feature $fname not enabled on $p"
                    fi
                done
            fi
            # .rlib files (uplifted copies, not deps/ duplicates) and executables.
            files="$( (grep -o '"filenames":\[[^]]*\]' <<<"$lines" | grep -o '"[^"]*\.rlib"' | grep -v '/deps/' || true
                       grep -o '"executable":"[^"]*"' <<<"$lines" | sed 's/^"executable"://' || true) |
                     tr -d '"' | sort -u)"
            if [[ -z "$files" ]]; then
                status="FAIL"
                detail="no .rlib or executable for $p to check"
                break
            fi
            while IFS= read -r f; do
                if msg="$(check_no_alloc "$rustc_bin" "$target" "$f")"; then
                    nfiles=$((nfiles + 1))
                else
                    printf '%s\n' "$msg" >&2
                    status="FAIL"
                    detail="alloc found or unprovable: $f"
                fi
            done <<<"$files"
        done
        [[ "$status" == OK ]] && detail="no-alloc proven for $nfiles artifact(s)"
    fi
    [[ "$status" == OK ]] || FAILED=1
    SUMMARY+=("$(printf '%-4s  %-22s features=%-24s route=%-6s rustc=%-7s %6ss  pkgs=%s  %s' \
        "$status" "$target" "${2:--}" "$route" "$version" "$secs" \
        "$(IFS=,; echo "${PACKAGES[*]}")" "$detail")")
    say "${SUMMARY[-1]}"
}

for t in "${TARGETS[@]}"; do
    for fs in "${FEATURE_SETS[@]}"; do
        run_combo "$t" "$fs"
    done
done

echo "== build-thumb summary (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
for line in "${SUMMARY[@]}"; do
    echo "$line"
done
if [[ "$FAILED" != 0 ]]; then
    echo "build-thumb: FAILED"
    exit 1
fi
echo "build-thumb: all ${#SUMMARY[@]} target/feature builds OK"
