#!/usr/bin/env bash
# Installs realtime-ptt as a systemd service on a Raspberry Pi (Raspberry Pi OS / Debian 12).
#
# Run it from a checkout that has been built (the build needs the dev dependencies):
#   npm ci && npm run build
#   sudo --preserve-env=OPENAI_API_KEY systemd/install.sh      # or it prompts for the key
#
# What it does (each step only when something differs, so a second run changes nothing):
#   - checks node >= 20
#   - creates the system user realtime-ptt, in the groups audio and gpio
#   - copies the package (dist, config, systemd, package.json, package-lock.json) to
#     /opt/realtime-ptt and runs `npm ci --omit=dev` there (native addons are built for this
#     Pi's Node; rerun only when package-lock.json changed)
#   - /etc/realtime-ptt/config.yaml from config/realtime-ptt.example.yaml, only if absent
#   - /etc/realtime-ptt/openai-api-key (root, 0600; systemd hands it to the service as a
#     credential) from $OPENAI_API_KEY or a prompt without echo, only if absent. The key is
#     never put in argv.
#   - /etc/systemd/system/realtime-ptt.service (ExecStart uses this machine's node), then
#     daemon-reload, enable --now, and a restart if the service was running and anything changed
#
# Options:
#   --dry-run        print what would change, change nothing
#   --prefix DIR     install into DIR instead of / (also $DESTDIR): for packaging and tests;
#                    no user is created, nothing is chowned and systemctl is not run
#   --no-deps        do not run npm ci in /opt/realtime-ptt (tests, offline packaging)
#   -h, --help       this text
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { printf 'install.sh: %s\n' "$1" >&2; [ $# -gt 1 ] && printf '  fix: %s\n' "$2" >&2; exit 1; }

# Taken out of the environment at once, so no child (npm and its install scripts) inherits it.
KEY_FROM_ENV="${OPENAI_API_KEY:-}"
unset OPENAI_API_KEY

DRY_RUN=0
ROOT="${DESTDIR:-}"
DEPS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; ROOT="$2"; shift ;;
    --prefix=*) ROOT="${1#--prefix=}" ;;
    --no-deps) DEPS=0 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1'" "see systemd/install.sh --help" ;;
  esac
  shift
done
ROOT="${ROOT%/}"

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP_DIR="/opt/realtime-ptt"
ETC_DIR="/etc/realtime-ptt"
UNIT_PATH="/etc/systemd/system/realtime-ptt.service"
SERVICE_USER="realtime-ptt"
CHANGED=0

say() { printf '%s\n' "$*"; }
# A command that changes the system: printed in a dry run, run otherwise.
act() {
  CHANGED=1
  if [ "$DRY_RUN" = 1 ]; then say "would run: $*"; else say "+ $*"; "$@"; fi
}

# --- checks -----------------------------------------------------------------------------
NODE_BIN="$(command -v node || true)"
[ -n "$NODE_BIN" ] || die "node is not installed" "install Node.js 20 or newer (e.g. apt install nodejs from NodeSource)"
NODE_VERSION="$("$NODE_BIN" -p 'process.versions.node')"
[ "${NODE_VERSION%%.*}" -ge 20 ] 2>/dev/null || die "node $NODE_VERSION is too old (need >= 20)" "install Node.js 20 or newer"
[ -f "$SRC/dist/cli.js" ] || die "$SRC/dist/cli.js is missing: the package is not built" "run 'npm ci && npm run build' in $SRC first"
if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ] && [ "$DRY_RUN" = 0 ]; then
  die "installing into / needs root" "run it with sudo, or use --prefix DIR / --dry-run"
fi

# install_file SOURCE DEST MODE: copies when absent or different (content or mode).
install_file() {
  local src="$1" dest="$ROOT$2" mode="$3"
  if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then return 0; fi
  act install -D -m "$mode" "$src" "$dest"
}

ensure_dir() {
  local dir="$ROOT$1" mode="$2"
  if [ -d "$dir" ] && [ "$(stat -c %a "$dir")" = "${mode#0}" ]; then return 0; fi
  act install -d -m "$mode" "$dir"
}

# --- user -------------------------------------------------------------------------------
if [ -z "$ROOT" ]; then
  for group in audio gpio; do
    # Raspberry Pi OS has both; elsewhere gpio may be missing (a udev rule must then grant it).
    getent group "$group" >/dev/null || act groupadd --system "$group"
  done
  if ! id "$SERVICE_USER" >/dev/null 2>&1; then
    act useradd --system --user-group --groups audio,gpio --home-dir /var/lib/realtime-ptt \
      --no-create-home --shell /usr/sbin/nologin --comment "realtime-ptt daemon" "$SERVICE_USER"
  else
    for group in audio gpio; do
      id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx "$group" || act usermod -a -G "$group" "$SERVICE_USER"
    done
  fi
else
  say "--prefix: not creating the user $SERVICE_USER (groups audio, gpio)"
fi

# --- the package ------------------------------------------------------------------------
ensure_dir "$APP_DIR" 0755
# Files no longer in the build are removed, so an upgrade does not leave stale modules behind.
if [ -d "$ROOT$APP_DIR/dist" ]; then
  while IFS= read -r -d '' old; do
    rel="${old#"$ROOT$APP_DIR"/}"
    [ -e "$SRC/$rel" ] || act rm -f "$old"
  done < <(find "$ROOT$APP_DIR/dist" -type f -print0)
fi
while IFS= read -r -d '' file; do
  rel="${file#"$SRC"/}"
  mode=0644; [ -x "$file" ] && mode=0755
  install_file "$file" "$APP_DIR/$rel" "$mode"
done < <(cd "$SRC" && find "$SRC/dist" "$SRC/config" "$SRC/systemd" -type f ! -name '*.map' -print0 | sort -z)
for f in package.json package-lock.json README.md LICENSE; do
  [ -f "$SRC/$f" ] && install_file "$SRC/$f" "$APP_DIR/$f" 0644
done

# npm ci only when the lock file differs from the one the installed modules came from.
STAMP="$ROOT$APP_DIR/node_modules/.realtime-ptt-lock"
if [ "$DEPS" = 1 ]; then
  if [ ! -f "$STAMP" ] || ! cmp -s "$SRC/package-lock.json" "$STAMP"; then
    act sh -c "cd '$ROOT$APP_DIR' && npm ci --omit=dev --no-audit --no-fund && cp package-lock.json node_modules/.realtime-ptt-lock"
  fi
else
  say "--no-deps: not running npm ci in $APP_DIR"
fi

# --- configuration and credential -------------------------------------------------------
ensure_dir "$ETC_DIR" 0750
if [ ! -f "$ROOT$ETC_DIR/config.yaml" ]; then
  act install -m 0640 "$SRC/config/realtime-ptt.example.yaml" "$ROOT$ETC_DIR/config.yaml"
  [ -n "$ROOT" ] || act chown "root:$SERVICE_USER" "$ETC_DIR/config.yaml" "$ETC_DIR"
else
  say "kept $ETC_DIR/config.yaml (edit it, then: systemctl reload realtime-ptt)"
fi

KEY_FILE="$ROOT$ETC_DIR/openai-api-key"
if [ ! -f "$KEY_FILE" ]; then
  key="$KEY_FROM_ENV"
  if [ -z "$key" ] && [ -t 0 ] && [ "$DRY_RUN" = 0 ]; then
    read -r -s -p "OpenAI API key (input hidden, empty to skip): " key; echo
  fi
  if [ -n "$key" ]; then
    CHANGED=1
    if [ "$DRY_RUN" = 1 ]; then
      say "would write $ETC_DIR/openai-api-key (root, 0600, ${#key} characters)"
    else
      # printf is a builtin: the key never appears in a process's argv. umask makes it 0600 from the start.
      (umask 077 && printf '%s\n' "$key" > "$KEY_FILE.tmp" && mv -f "$KEY_FILE.tmp" "$KEY_FILE")
      say "wrote $ETC_DIR/openai-api-key (root, 0600, ${#key} characters)"
    fi
  else
    say "WARNING: no API key: the service will not start until $ETC_DIR/openai-api-key exists" \
      "(rerun with sudo --preserve-env=OPENAI_API_KEY, or write the file as root with mode 0600)"
  fi
  unset key KEY_FROM_ENV
else
  say "kept $ETC_DIR/openai-api-key"
fi

# --- the unit ---------------------------------------------------------------------------
unit_tmp="$(mktemp)"
trap 'rm -f "$unit_tmp"' EXIT
# The unit names /usr/bin/node; another node (nvm, /usr/local) is written in instead.
sed "s#^ExecStart=/usr/bin/node #ExecStart=$NODE_BIN #" "$SRC/systemd/realtime-ptt.service" > "$unit_tmp"
install_file "$unit_tmp" "$UNIT_PATH" 0644

if [ -n "$ROOT" ]; then
  say "--prefix: not running systemctl"
elif [ "$DRY_RUN" = 1 ]; then
  [ "$CHANGED" = 0 ] || say "would run: systemctl daemon-reload && systemctl enable --now realtime-ptt"
else
  if [ "$CHANGED" = 1 ]; then
    act systemctl daemon-reload
    systemctl is-active --quiet realtime-ptt && act systemctl restart realtime-ptt
  fi
  if ! systemctl is-enabled --quiet realtime-ptt 2>/dev/null || ! systemctl is-active --quiet realtime-ptt; then
    act systemctl enable --now realtime-ptt
  fi
fi

if [ "$CHANGED" = 0 ]; then say "realtime-ptt is installed; nothing changed"; else say "done. Check it with: $NODE_BIN $APP_DIR/dist/cli.js doctor --config $ETC_DIR/config.yaml"; fi
