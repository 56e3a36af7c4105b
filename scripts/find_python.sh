# Sourced by scripts/setup.sh and scripts/emulators/install.sh.
# find_python 3.13 -> prints the path of an interpreter of that version, or returns 1.
# Looks at $TIDEMARK_PYTHON_<MAJOR><MINOR> (e.g. TIDEMARK_PYTHON_313), the older
# $TIDEMARK_PYTHON_FOR_EMULATORS, pyenv's versions and python<version> on the PATH:
# Debian 12 packages no Python 3.13, and uv cannot download interpreters here.
find_python() {
  local want="$1" cand var="TIDEMARK_PYTHON_${1//./}"
  for cand in "${!var:-}" "${TIDEMARK_PYTHON_FOR_EMULATORS:-}" \
              "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want"*/bin/python \
              /root/.pyenv/versions/"$want"*/bin/python "$(command -v "python$want" || true)"; do
    [[ -n "$cand" && -x "$cand" ]] || continue
    if "$cand" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" \
         2>/dev/null
    then echo "$cand"; return 0; fi
  done
  return 1
}
