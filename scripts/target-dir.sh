# shellcheck shell=bash
# Sourced, not run, by .ci/run and the scripts in scripts/: where cargo puts this
# workspace's build outputs, so that no script assumes `target/`.
#
# Source it before changing directory. Cargo reads a relative CARGO_TARGET_DIR against
# the directory it runs in; the scripts run cargo elsewhere (the root, firmware/qemu, the
# board's folder), so a relative one is made absolute here, against the caller's
# directory, where it was meant.
if [[ -n "${CARGO_TARGET_DIR:-}" && "$CARGO_TARGET_DIR" != /* ]]; then
    export CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR"
fi

# cargo_target_dir ROOT: prints the absolute target directory of the workspace at ROOT,
# as `cargo metadata` reports it: CARGO_TARGET_DIR, else `build.target-dir` from a cargo
# config, else ROOT/target.
cargo_target_dir() {
    (cd "$1" && cargo metadata --format-version 1 --no-deps) |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}
