#!/usr/bin/env bash
# Runs redarc's whole test suite. The end-to-end tests check interoperability
# with the reference tools, so this installs them first when they are missing
# (as root with apt-get, as on CI). The PostgreSQL tests start their own
# throwaway server from Debian's postgresql package.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v age >/dev/null 2>&1 || need+=(age)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v sha256sum >/dev/null 2>&1 || need+=(coreutils)
command -v tar >/dev/null 2>&1 || need+=(tar)
# script(1) runs the progress and import tests on a pseudo-terminal.
command -v script >/dev/null 2>&1 || need+=(bsdutils)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing tools: ${need[*]} (install them, e.g. apt-get install ${need[*]})" >&2
    exit 2
  fi
fi

exec cargo test --workspace "$@"
