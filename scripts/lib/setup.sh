# Shared setup for hone's scripts: idempotent installers for the tools the tests and
# benchmarks need. Source it; every function is safe to call again.

DSPY_VERSION="${DSPY_VERSION:-3.4.1}"
HONE_CACHE="${HONE_CACHE:-$HOME/.cache/hone}"
DSPY_VENV="${DSPY_VENV:-$HONE_CACHE/dspy-$DSPY_VERSION}"
HONE_VENV="${HONE_VENV:-$HONE_CACHE/py-venv}"
HONE_VENV_PYTHON="$HONE_VENV/bin/python"
DSPY_PYTHON="$DSPY_VENV/bin/python"

# A CI run builds once from a fresh clone: incremental caches would only cost disk space.
if [ "${CI:-}" = true ]; then
  export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi

step() { printf '\n==> %s\n' "$*" >&2; }

# apt-get install the given Debian packages if any is missing.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]} (apt)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_cargo_tool() { # binary crate
  if ! command -v "$1" >/dev/null 2>&1; then
    step "installing $2 (cargo install)"
    cargo install --locked --quiet "$2"
  fi
}

ensure_nextest() { ensure_cargo_tool cargo-nextest cargo-nextest; }
ensure_deny() { ensure_cargo_tool cargo-deny cargo-deny; }

# Debian's redis-server, for the hone-redis tests (they start their own server on a free
# port; no system-wide service is started here).
ensure_redis() {
  command -v redis-server >/dev/null 2>&1 || ensure_apt redis-server
}

# A Python venv holding the reference dspy package, used to prove interoperability.
ensure_dspy_venv() {
  if [ ! -x "$DSPY_PYTHON" ] || ! "$DSPY_PYTHON" -c "import dspy, sys; sys.exit(dspy.__version__ != '$DSPY_VERSION')" 2>/dev/null; then
    step "installing dspy $DSPY_VERSION into $DSPY_VENV (pip)"
    command -v python3 >/dev/null || ensure_apt python3 python3-venv
    python3 -m venv "$DSPY_VENV"
    "$DSPY_VENV/bin/pip" install --quiet --disable-pip-version-check "dspy==$DSPY_VERSION"
  fi
  export DSPY_PYTHON
}

# Installs and starts the real local LM (scripts/local-lm: llama.cpp's llama-server with Gemma 3
# 270M) on a free port for the rest of this shell, exports HONE_REAL_LM_URL and
# HONE_REAL_LM_MODEL, and stops that server when the shell exits. Run from the repository root.
start_local_lm() {
  scripts/local-lm install
  HONE_REAL_LM_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Quietly, so that the last lines of the calling script stay its own.
  trap 'scripts/local-lm stop --port "$HONE_REAL_LM_PORT" >/dev/null 2>&1' EXIT
  trap 'exit 130' INT TERM
  local out
  out=$(scripts/local-lm start --port "$HONE_REAL_LM_PORT")
  HONE_REAL_LM_URL=$(sed -n 1p <<<"$out")
  HONE_REAL_LM_MODEL=$(sed -n 2p <<<"$out")
  export HONE_REAL_LM_URL HONE_REAL_LM_MODEL
}

# A Python venv for hone's Python package: maturin to build its wheel, and what its tests and
# benchmarks use (pytest, gevent, pydantic, httpx; Celery with redis-py for examples/celery). The package itself needs none of them.
ensure_hone_venv() {
  if [ ! -x "$HONE_VENV_PYTHON" ] || ! "$HONE_VENV_PYTHON" -c "import maturin, pytest, gevent, pydantic, httpx, celery, redis" 2>/dev/null; then
    step "installing maturin, pytest, gevent, pydantic and httpx into $HONE_VENV (pip)"
    command -v python3 >/dev/null || ensure_apt python3 python3-venv
    python3 -m venv "$HONE_VENV"
    "$HONE_VENV/bin/pip" install --quiet --disable-pip-version-check \
      "maturin>=1.7,<2" "pytest>=8" "gevent>=24" "pydantic>=2" "httpx>=0.27" "celery[redis]>=5.4,<6"
  fi
  export HONE_VENV_PYTHON
}

# Builds hone's wheel (crates/hone-py, abi3) with maturin into target/wheels and installs it into
# $HONE_VENV. `build_hone_wheel --release` builds it optimized (for benchmarks).
build_hone_wheel() {
  ensure_hone_venv
  local out="${CARGO_TARGET_DIR:-target}/wheels"
  rm -f "$out"/hone-*.whl
  "$HONE_VENV/bin/maturin" build --quiet -m crates/hone-py/Cargo.toml --out "$out" "$@" >&2
  "$HONE_VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$out"/hone-*.whl
}
