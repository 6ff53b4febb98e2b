#!/usr/bin/env bash
# Installs what xsmtools needs on a fresh Debian 12 machine: libsepol (the
# compiler backend), m4 (policy trees), the test oracles checkpolicy,
# secilc and setools, and what the tests drive xsmd with (curl, openssl) and
# --version reads libsepol's version with (pkg-config). Does nothing for
# packages already installed.
set -euo pipefail
packages=(libsepol-dev m4 checkpolicy secilc setools time curl openssl pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
