# Shared setup for hone's scripts: idempotent installers for the tools the tests and
# benchmarks need. Source it; every function is safe to call again.

DSPY_VERSION="${DSPY_VERSION:-3.4.1}"
HONE_CACHE="${HONE_CACHE:-$HOME/.cache/hone}"
DSPY_VENV="${DSPY_VENV:-$HONE_CACHE/dspy-$DSPY_VERSION}"
DSPY_PYTHON="$DSPY_VENV/bin/python"

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
