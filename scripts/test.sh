#!/usr/bin/env bash
# Runs redarc's whole test suite. The end-to-end tests check interoperability
# with the reference tools and offsite storage against an S3-compatible
# server, so this installs them first when they are missing (as root with
# apt-get, as on CI; moto's server and the AWS CLI with pip). The PostgreSQL tests start
# their own throwaway server from Debian's postgresql package.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v age >/dev/null 2>&1 || need+=(age)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v sha256sum >/dev/null 2>&1 || need+=(coreutils)
command -v tar >/dev/null 2>&1 || need+=(tar)
# The docs test runs the pages' commands, which pipe JSON through jq.
command -v jq >/dev/null 2>&1 || need+=(jq)
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

# Python tools from PyPI: moto's S3-compatible server for the offsite tests,
# and the AWS CLI, whose `aws s3 cp` lines in docs/restore-drill.md the docs
# test runs against it. The tests fail, not skip, without them.
pip_install() { python3 -m pip install --quiet --disable-pip-version-check "$@" >&2; }
pip_tool() { # COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return
  if ! command -v python3 >/dev/null 2>&1; then
    echo "missing $1 and python3 to install it (pip install '$2')" >&2
    exit 2
  fi
  echo "installing $2" >&2
  # A distribution's own Python may refuse (PEP 668): then into the user's site.
  pip_install "$2" || pip_install --user --break-system-packages "$2"
  # pyenv needs a new shim; a --user install lands in the user base.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  # (site exits non-zero when user site-packages are disabled, as in a venv.)
  user_base=$(python3 -m site --user-base || true)
  if [ -n "$user_base" ]; then PATH="$PATH:$user_base/bin"; fi
  hash -r
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "$1 still not on PATH after pip install '$2'" >&2
    exit 2
  fi
}
pip_tool moto_server 'moto[server]'
pip_tool aws awscli

exec cargo test --workspace "$@"
