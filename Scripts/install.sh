#!/usr/bin/env bash
# Builds xsmc, xsmq and xsmd in release mode and installs them with their man
# pages and shell completions:
#   PREFIX/bin/{xsmc,xsmq,xsmd}
#   PREFIX/share/man/man1/xsmc.1, xsmc.build.1, ... (one page per subcommand)
#   PREFIX/share/bash-completion/completions/, zsh/site-functions/, fish/vendor_completions.d/
# PREFIX defaults to ~/.local; DESTDIR is prepended for staged installs;
# CONFIGURATION=debug installs a debug build (quicker to build, slower to run).
# Usage: Scripts/install.sh [PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-${PREFIX:-$HOME/.local}}
root="${DESTDIR:-}$prefix"
programs=(xsmc xsmq xsmd)
configuration=${CONFIGURATION:-release}

echo "building ${programs[*]} ($configuration) and the man page generator..." >&2
products=()
for program in "${programs[@]}" generate-manual; do products+=(--product "$program"); done
swift build -c "$configuration" "${products[@]}"
bin=$(swift build -c "$configuration" --show-bin-path)

mkdir -p "$root/bin" "$root/share/man/man1" "$root/share/bash-completion/completions" \
  "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"
for program in "${programs[@]}"; do
  install -m 0755 "$bin/$program" "$root/bin/$program"
  "$bin/generate-manual" "$bin/$program" --multi-page --output-directory "$root/share/man/man1" >/dev/null
  "$bin/$program" --generate-completion-script bash >"$root/share/bash-completion/completions/$program"
  "$bin/$program" --generate-completion-script zsh >"$root/share/zsh/site-functions/_$program"
  "$bin/$program" --generate-completion-script fish >"$root/share/fish/vendor_completions.d/$program.fish"
done
echo "installed ${programs[*]} in $root/bin, man pages in $root/share/man/man1 (man xsmc, man xsmq.can)," >&2
echo "completions for bash, zsh and fish under $root/share" >&2
