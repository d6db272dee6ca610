#!/usr/bin/env bash
# strata's development and CI services: one Docker daemon, one reference registry (plain and
# htpasswd-protected), and local base images, all on loopback, all under one state directory.
#
#   scripts/dev-env.sh up      install what is missing, start what is not running, print the env file
#   scripts/dev-env.sh up --podman
#                              the same, plus a Podman API service beside the Docker daemon
#                              ($STATE/podman.sock; STRATA_TEST_PODMAN_HOST in the env file), with
#                              the base images loaded into it (STRATA_DEV_PODMAN=1 does the same)
#
# Multi-architecture: arm64 runs under QEMU (qemu-user-static registered with binfmt_misc), and
# an arm64 busybox base is made beside the amd64 one; both are published as one multi-platform
# index, $STRATA_TEST_MULTI_PLATFORM_BUSYBOX.
# An sshd on 127.0.0.1:2222 (key login, socket forwarding only) serves `ssh://` engines:
# $STRATA_TEST_SSH, reached with $STRATA_SSH_COMMAND.
#   scripts/dev-env.sh podman-runtime
#                              print the OCI runtime Podman's containers can start with here
#                              (crun, else runc: crun refuses hybrid cgroups), trying each
#   scripts/dev-env.sh down    stop the daemon and registries this script started
#   scripts/dev-env.sh status  say what is running
#   scripts/dev-env.sh env     print the environment variables (source it: `. "$(scripts/dev-env.sh env)"`)
#
# Idempotent: running `up` twice starts nothing twice. Logs stay in $STRATA_DEV_DIR/logs.
set -euo pipefail

STATE="${STRATA_DEV_DIR:-$HOME/.cache/strata-dev}"
REGISTRY_PORT="${STRATA_DEV_REGISTRY_PORT:-5555}"
AUTH_REGISTRY_PORT="${STRATA_DEV_AUTH_REGISTRY_PORT:-5556}"
SOCKET="$STATE/docker.sock"
PODMAN_DIR="$STATE/podman"
PODMAN_SOCKET="$STATE/podman.sock"
LOGS="$STATE/logs"
SSH_DIR="$STATE/ssh"
SSH_PORT="${STRATA_DEV_SSH_PORT:-2222}"
ENV_FILE="$STATE/env.sh"
BASE_DEBIAN="strata-base/debian:bookworm"
BASE_BUSYBOX="strata-base/busybox:latest"
BASE_BUSYBOX_ARM64="strata-base/busybox:arm64"
# Both platforms' busybox under one multi-platform tag, for multi-architecture builds.
MULTI_BUSYBOX="strata-base/busybox-multi"

log() { printf 'dev-env: %s\n' "$*" >&2; }
die() { printf 'dev-env: error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  command -v curl >/dev/null || missing+=(curl)
  # The audit's test watches its connections with strace; dpkg checks the audit's version order.
  command -v strace >/dev/null || missing+=(strace)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >"$LOGS/apt.log" 2>&1 \
      || { tail -20 "$LOGS/apt.log" >&2; die "apt-get install failed (log: $LOGS/apt.log)"; }
  fi
}

# The CI tools the pipeline tests run what `strata ci` writes with: check-jsonschema (PyPI;
# GitLab's and GitHub's schemas built in) and gitlab-ci-local (npm; 4.52.0 is the last release
# that runs on Node 20, and it needs rsync). Pinned, installed under $STATE/tools once.
CHECK_JSONSCHEMA_VERSION=0.39.0
# The independent signature verifier (tests/sign): pyca/cryptography for ECDSA and PKCS#8,
# PyNaCl for secretbox; Python's own hashlib for scrypt.
CRYPTOGRAPHY_VERSION=44.0.0
PYNACL_VERSION=1.5.0
GITLAB_CI_LOCAL_VERSION=4.52.0
# The catalogue's browser tests: Debian's chromium driven by playwright-core (npm; no browser
# download, it drives the installed one).
PLAYWRIGHT_CORE_VERSION=1.56.1
TOOLS="$STATE/tools"
install_ci_tools() {
  if ! "$TOOLS/venv/bin/check-jsonschema" --version 2>/dev/null | grep -q "$CHECK_JSONSCHEMA_VERSION"; then
    log "installing check-jsonschema $CHECK_JSONSCHEMA_VERSION (log $LOGS/tools.log)"
    python3 -m venv "$TOOLS/venv" >>"$LOGS/tools.log" 2>&1 \
      && "$TOOLS/venv/bin/pip" install -q "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" >>"$LOGS/tools.log" 2>&1 \
      || { tail -20 "$LOGS/tools.log" >&2; die "cannot install check-jsonschema from PyPI (log: $LOGS/tools.log)"; }
  fi
  if ! "$TOOLS/venv/bin/python" -c "import cryptography, nacl; assert cryptography.__version__ == '$CRYPTOGRAPHY_VERSION'" 2>/dev/null; then
    log "installing cryptography $CRYPTOGRAPHY_VERSION and PyNaCl $PYNACL_VERSION (log $LOGS/tools.log)"
    "$TOOLS/venv/bin/pip" install -q --only-binary :all: "cryptography==$CRYPTOGRAPHY_VERSION" "pynacl==$PYNACL_VERSION" >>"$LOGS/tools.log" 2>&1 \
      || { tail -20 "$LOGS/tools.log" >&2; die "cannot install cryptography and PyNaCl from PyPI (log: $LOGS/tools.log)"; }
  fi
  command -v rsync >/dev/null || {
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq rsync >>"$LOGS/apt.log" 2>&1 \
      || die "apt-get install rsync failed (log: $LOGS/apt.log)"
  }
  if [ ! -x "$TOOLS/npm/node_modules/.bin/gitlab-ci-local" ]; then
    command -v npm >/dev/null || die "gitlab-ci-local needs Node.js and npm (Debian: apt-get install nodejs npm)"
    log "installing gitlab-ci-local $GITLAB_CI_LOCAL_VERSION (log $LOGS/tools.log)"
    mkdir -p "$TOOLS/npm"
    npm install --prefix "$TOOLS/npm" --no-audit --no-fund "gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION" >>"$LOGS/tools.log" 2>&1 \
      || { tail -20 "$LOGS/tools.log" >&2; die "cannot install gitlab-ci-local from npm (log: $LOGS/tools.log)"; }
  fi
  command -v chromium >/dev/null || {
    log "installing chromium (log $LOGS/apt.log)"
    { DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >>"$LOGS/apt.log" 2>&1 \
      || { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >>"$LOGS/apt.log" 2>&1; }; } \
      || { tail -20 "$LOGS/apt.log" >&2; die "apt-get install chromium failed (log: $LOGS/apt.log)"; }
  }
  if ! grep -qs "\"version\": \"$PLAYWRIGHT_CORE_VERSION\"" "$TOOLS/npm/node_modules/playwright-core/package.json"; then
    log "installing playwright-core $PLAYWRIGHT_CORE_VERSION (log $LOGS/tools.log)"
    npm install --prefix "$TOOLS/npm" --no-audit --no-fund "playwright-core@$PLAYWRIGHT_CORE_VERSION" >>"$LOGS/tools.log" 2>&1 \
      || { tail -20 "$LOGS/tools.log" >&2; die "cannot install playwright-core from npm (log: $LOGS/tools.log)"; }
  fi
}

docker_cli() { DOCKER_HOST="unix://$SOCKET" docker "$@"; }

# Podman reads its settings from these files (under $STATE, not /etc): storage in $STATE, the
# loopback registries insecure (plain HTTP), and lower nofile/nproc limits, which containers on
# these machines need to start.
podman_env() {
  export CONTAINERS_CONF="$PODMAN_DIR/containers.conf"
  export CONTAINERS_STORAGE_CONF="$PODMAN_DIR/storage.conf"
  export CONTAINERS_REGISTRIES_CONF="$PODMAN_DIR/registries.conf"
}

podman_cli() { podman_env; podman "$@"; }

podman_up() { curl -fsS -o /dev/null --unix-socket "$PODMAN_SOCKET" http://podman/_ping 2>/dev/null; }

# The cgroup layout, for the log: v2 (unified), hybrid (v1 controllers plus a cgroup2 mount at
# /sys/fs/cgroup/unified) or v1.
cgroup_layout() {
  local root=${STRATA_DEV_CGROUP_ROOT:-/sys/fs/cgroup}
  if [ -f "$root/cgroup.controllers" ]; then echo v2
  elif [ -f "$root/unified/cgroup.controllers" ]; then echo hybrid
  else echo v1; fi
}

# The OCI runtime Podman's containers start with. Podman prefers crun, and crun refuses to start
# containers when cgroups are in hybrid mode ("cgroups in hybrid mode not supported"); runc
# (installed with docker.io) starts them on every layout. So each candidate is tried on the
# busybox base, in Podman's order of preference, and the first that runs a container is chosen;
# STRATA_DEV_PODMAN_RUNTIME forces one. Prints the runtime; says on stderr why others were passed.
choose_podman_runtime() {
  local candidates runtime output layout
  layout=$(cgroup_layout)
  candidates=${STRATA_DEV_PODMAN_RUNTIME:-crun runc}
  local refused=()
  for runtime in $candidates; do
    if output=$(podman_cli --runtime "$runtime" run --rm --network none "$BASE_BUSYBOX" true 2>&1); then
      if [ ${#refused[@]} -gt 0 ]; then
        log "podman: OCI runtime $runtime (cgroups $layout; passed over: ${refused[*]})"
      else
        log "podman: OCI runtime $runtime (cgroups $layout)"
      fi
      echo "$runtime"
      return 0
    fi
    refused+=("$runtime: $(printf '%s\n' "$output" | grep -v '^$' | tail -n 1)")
  done
  log "podman: no OCI runtime starts a container here (cgroups $layout):"
  for runtime in "${refused[@]}"; do log "  $runtime"; done
  die "podman cannot run containers: install runc (apt-get install runc) or set STRATA_DEV_PODMAN_RUNTIME to a runtime that works"
}

write_podman_conf() {
  local runtime=$1
  mkdir -p "$PODMAN_DIR"
  {
    printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'
    if [ -n "$runtime" ]; then printf '\n[engine]\nruntime = "%s"\n' "$runtime"; fi
  } >"$PODMAN_DIR/containers.conf"
  cat >"$PODMAN_DIR/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$PODMAN_DIR/storage"
runroot = "$PODMAN_DIR/run"
CONF
  cat >"$PODMAN_DIR/registries.conf" <<CONF
unqualified-search-registries = []
[[registry]]
location = "127.0.0.1:$REGISTRY_PORT"
insecure = true
[[registry]]
location = "127.0.0.1:$AUTH_REGISTRY_PORT"
insecure = true
CONF
}

start_podman() {
  command -v podman >/dev/null || {
    log "installing podman"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq podman >"$LOGS/apt-podman.log" 2>&1 \
      || { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq podman >"$LOGS/apt-podman.log" 2>&1; } \
      || { tail -20 "$LOGS/apt-podman.log" >&2; die "apt-get install podman failed (log: $LOGS/apt-podman.log)"; }
  }
  if podman_up; then
    podman_cli run --rm --network none "$BASE_BUSYBOX" true >/dev/null 2>&1 && return
    # Started by an earlier set-up with a runtime that does not work here: choose again.
    log "podman's service runs, but its runtime cannot start containers: restarting it"
    stop_pidfile "$PODMAN_DIR/pid"
  fi
  # The runtime is chosen with the command-line client before the service starts, so the
  # service and the client read the same containers.conf.
  write_podman_conf ""
  local image
  for image in "$BASE_BUSYBOX" "$BASE_DEBIAN"; do
    podman_cli image exists "$image" && continue
    log "loading $image into podman"
    docker_cli save "$image" | podman_cli load >"$LOGS/podman-load.log" 2>&1 \
      || { tail -5 "$LOGS/podman-load.log" >&2; die "cannot load $image into podman"; }
  done
  local runtime
  runtime=$(choose_podman_runtime)
  write_podman_conf "$runtime"
  log "starting podman system service ($PODMAN_SOCKET, log $LOGS/podman.log)"
  rm -f "$PODMAN_SOCKET"
  podman_env
  setsid podman system service --time=0 "unix://$PODMAN_SOCKET" >>"$LOGS/podman.log" 2>&1 < /dev/null &
  echo $! >"$PODMAN_DIR/pid"
  for _ in $(seq 1 60); do podman_up && break; sleep 0.25; done
  podman_up || { tail -20 "$LOGS/podman.log" >&2; die "podman's API service did not come up (log: $LOGS/podman.log)"; }
  podman_cli run --rm --network none "$BASE_BUSYBOX" true || die "the busybox base image does not run under podman with $runtime"
}

daemon_up() { docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_daemon() {
  if daemon_up; then return; fi
  log "starting dockerd (data root $STATE/docker, log $LOGS/dockerd.log)"
  mkdir -p "$STATE/docker" "$STATE/exec"
  rm -f "$SOCKET"
  # setsid: the daemon outlives this script and is not killed with the caller's process group.
  setsid dockerd --host "unix://$SOCKET" --data-root "$STATE/docker" --exec-root "$STATE/exec" \
    --pidfile "$STATE/dockerd.pid" >>"$LOGS/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    daemon_up && { log "dockerd is up"; return; }
    sleep 0.5
  done
  tail -30 "$LOGS/dockerd.log" >&2
  die "dockerd did not come up within 60 s (log: $LOGS/dockerd.log)"
}

registry_up() { curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/" 2>/dev/null | grep -qE '200|401'; }

start_registry() {
  local name=$1 port=$2 auth=$3
  if registry_up "$port"; then return; fi
  local dir="$STATE/$name"
  mkdir -p "$dir/storage"
  local auth_block=""
  if [ "$auth" = yes ]; then
    # test credentials for the htpasswd registry; documented in README (not a secret)
    htpasswd -Bbn strata strata-password >"$dir/htpasswd"
    auth_block="auth:
  htpasswd:
    realm: strata-test
    path: $dir/htpasswd"
  fi
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth_block
YAML
  log "starting registry $name on 127.0.0.1:$port (log $LOGS/$name.log)"
  setsid docker-registry serve "$dir/config.yml" >>"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! >"$dir/pid"
  for _ in $(seq 1 60); do
    registry_up "$port" && return
    sleep 0.25
  done
  tail -20 "$LOGS/$name.log" >&2
  die "registry $name did not come up on 127.0.0.1:$port (log: $LOGS/$name.log)"
}

image_exists() { docker_cli image inspect "$1" >/dev/null 2>&1; }

make_busybox_image() {
  image_exists "$BASE_BUSYBOX" && return
  log "making $BASE_BUSYBOX from busybox-static"
  local root; root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  tar -C "$root" -c . | docker_cli import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$BASE_BUSYBOX" >/dev/null
  rm -rf "$root"
  docker_cli run --rm --network none "$BASE_BUSYBOX" true || die "the busybox base image does not run"
}

# arm64 containers run under QEMU: qemu-user-static's interpreter registered with binfmt_misc
# (the `F` flag keeps it usable inside containers).
enable_emulation() {
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && return
  if [ ! -e /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
    log "installing qemu-user-static (arm64 emulation)"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq qemu-user-static >"$LOGS/apt.log" 2>&1 \
      || { tail -20 "$LOGS/apt.log" >&2; die "apt-get install qemu-user-static failed (log: $LOGS/apt.log)"; }
  fi
  [ -e /proc/sys/fs/binfmt_misc/register ] || as_root mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] \
    || as_root sh -c 'cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register'
}

# The arm64 busybox base: Debian's busybox-static for arm64, added `FROM scratch` by a build for
# linux/arm64 (the legacy builder: no BuildKit session needed).
make_arm64_busybox_image() {
  image_exists "$BASE_BUSYBOX_ARM64" && return
  log "making $BASE_BUSYBOX_ARM64 from busybox-static:arm64"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    as_root dpkg --add-architecture arm64
    as_root apt-get update -qq
  fi
  local work; work=$(mktemp -d)
  (cd "$work" && apt-get download -q busybox-static:arm64 >"$LOGS/apt.log" 2>&1) \
    || { tail -5 "$LOGS/apt.log" >&2; die "cannot download busybox-static:arm64 (log: $LOGS/apt.log)"; }
  dpkg-deb -x "$work"/busybox-static_*_arm64.deb "$work/deb"
  mkdir -p "$work/context/root/bin" "$work/context/root/etc" "$work/context/root/tmp" "$work/context/root/root"
  cp "$work/deb/bin/busybox" "$work/context/root/bin/busybox"
  # The same busybox version on both platforms: the host's applet list is the arm64 one's.
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$work/context/root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/context/root/etc/passwd"
  printf 'root:x:0:\n' >"$work/context/root/etc/group"
  printf 'FROM scratch\nCOPY root/ /\nENV PATH=/bin\nCMD ["/bin/sh"]\n' >"$work/context/Dockerfile"
  DOCKER_BUILDKIT=0 docker_cli build -q --platform linux/arm64 -t "$BASE_BUSYBOX_ARM64" "$work/context" >/dev/null
  rm -rf "$work"
  [ "$(docker_cli run --rm --platform linux/arm64 --network none "$BASE_BUSYBOX_ARM64" uname -m)" = aarch64 ] \
    || die "the arm64 busybox base does not run under emulation"
}

# `busybox-multi:latest` in the plain registry: an OCI index of the amd64 and arm64 busybox
# images (pushed as `:amd64` and `:arm64`), as a hub's multi-platform base would be.
publish_multi_platform_base() {
  local registry="127.0.0.1:$REGISTRY_PORT" accept='application/vnd.oci.image.index.v1+json'
  if curl -fsS -o /dev/null -H "Accept: $accept" "http://$registry/v2/$MULTI_BUSYBOX/manifests/latest" 2>/dev/null; then
    return
  fi
  log "publishing $registry/$MULTI_BUSYBOX:latest (linux/amd64 + linux/arm64)"
  local entries="" arch image headers digest size media
  for arch in amd64 arm64; do
    image=$BASE_BUSYBOX; [ "$arch" = arm64 ] && image=$BASE_BUSYBOX_ARM64
    docker_cli tag "$image" "$registry/$MULTI_BUSYBOX:$arch"
    docker_cli push "$registry/$MULTI_BUSYBOX:$arch" >"$LOGS/publish.log" 2>&1 \
      || { tail -5 "$LOGS/publish.log" >&2; die "cannot push $registry/$MULTI_BUSYBOX:$arch"; }
    headers=$(curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
      "http://$registry/v2/$MULTI_BUSYBOX/manifests/$arch" | tr -d '\r')
    digest=$(printf '%s\n' "$headers" | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
    size=$(printf '%s\n' "$headers" | awk -F': ' 'tolower($1)=="content-length"{print $2}')
    media=$(printf '%s\n' "$headers" | awk -F': ' 'tolower($1)=="content-type"{print $2}')
    entries="$entries${entries:+,}{\"mediaType\":\"$media\",\"digest\":\"$digest\",\"size\":$size,\"platform\":{\"os\":\"linux\",\"architecture\":\"$arch\"}}"
  done
  curl -fsS -o /dev/null -X PUT -H "Content-Type: $accept" \
    --data "{\"schemaVersion\":2,\"mediaType\":\"$accept\",\"manifests\":[$entries]}" \
    "http://$registry/v2/$MULTI_BUSYBOX/manifests/latest" || die "cannot write the index $registry/$MULTI_BUSYBOX:latest"
}

sshd_up() { [ -s "$SSH_DIR/pid" ] && kill -0 "$(cat "$SSH_DIR/pid")" 2>/dev/null; }

# An sshd on loopback only, for `ssh://` engines: key login as this user, forwarding allowed,
# nothing else (no password, no terminal). Its own host key, client key and settings live in
# $SSH_DIR; ssh reaches it with `ssh -F $SSH_DIR/config` (STRATA_SSH_COMMAND in the env file).
start_sshd() {
  sshd_up && return
  if [ ! -x /usr/sbin/sshd ]; then
    log "installing openssh-server (not started as a system service)"
    # Debian starts the service on install unless policy-rc.d says no: nothing may listen
    # beyond loopback here.
    local policy_added=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      as_root sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
      policy_added=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq openssh-server >"$LOGS/apt.log" 2>&1 \
      || { tail -20 "$LOGS/apt.log" >&2; die "apt-get install openssh-server failed (log: $LOGS/apt.log)"; }
    [ -n "$policy_added" ] && as_root rm -f /usr/sbin/policy-rc.d
  fi
  mkdir -p "$SSH_DIR" && chmod 700 "$SSH_DIR"
  [ -s "$SSH_DIR/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSH_DIR/host_key"
  [ -s "$SSH_DIR/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSH_DIR/client_key"
  printf 'restrict,port-forwarding %s\n' "$(cat "$SSH_DIR/client_key.pub")" >"$SSH_DIR/authorized_keys"
  cat >"$SSH_DIR/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $SSH_DIR/host_key
PidFile $SSH_DIR/pid
AuthorizedKeysFile $SSH_DIR/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AllowTcpForwarding local
AllowStreamLocalForwarding yes
X11Forwarding no
CONF
  cat >"$SSH_DIR/config" <<CONF
Host 127.0.0.1
  Port $SSH_PORT
  IdentityFile $SSH_DIR/client_key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
CONF
  [ "$(id -u)" = 0 ] && mkdir -p /run/sshd
  log "starting sshd on 127.0.0.1:$SSH_PORT (log $LOGS/sshd.log)"
  /usr/sbin/sshd -f "$SSH_DIR/sshd_config" -E "$LOGS/sshd.log" || die "sshd did not start (log: $LOGS/sshd.log)"
  for _ in $(seq 1 40); do sshd_up && return; sleep 0.25; done
  die "sshd did not come up (log: $LOGS/sshd.log)"
}

make_debian_image() {
  image_exists "$BASE_DEBIAN" && return
  local tarball="$STATE/rootfs-bookworm.tar"
  if [ ! -s "$tarball" ]; then
    log "debootstrap bookworm (minbase) — about a minute, cached in $tarball"
    local root="$STATE/rootfs-bookworm"
    as_root rm -rf "$root"
    as_root debootstrap --variant=minbase bookworm "$root" >"$LOGS/debootstrap.log" 2>&1 \
      || { tail -20 "$LOGS/debootstrap.log" >&2; die "debootstrap failed (log: $LOGS/debootstrap.log)"; }
    as_root rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
    as_root tar -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    as_root rm -rf "$root"
  fi
  log "importing $BASE_DEBIAN"
  docker_cli import -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tarball" "$BASE_DEBIAN" >/dev/null
}

# The base images in the plain registry too, as a site's registry mirror would hold them, so
# `strata pin` and `strata outdated` have something to resolve (nothing can be pulled from a hub).
publish_bases() {
  local image target
  for image in "$BASE_DEBIAN" "$BASE_BUSYBOX"; do
    target="127.0.0.1:$REGISTRY_PORT/$image"
    local repository=${image%:*} tag=${image##*:}
    if curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
      "http://127.0.0.1:$REGISTRY_PORT/v2/$repository/manifests/$tag" 2>/dev/null; then continue; fi
    log "publishing $image as $target"
    docker_cli tag "$image" "$target"
    docker_cli push "$target" >"$LOGS/publish.log" 2>&1 || { tail -5 "$LOGS/publish.log" >&2; die "cannot push $target"; }
  done
}

write_env() {
  cat >"$ENV_FILE" <<ENV
export DOCKER_HOST=unix://$SOCKET
export STRATA_TEST_REGISTRY=127.0.0.1:$REGISTRY_PORT
export STRATA_TEST_AUTH_REGISTRY=127.0.0.1:$AUTH_REGISTRY_PORT
export STRATA_TEST_BASE_DEBIAN=$BASE_DEBIAN
export STRATA_TEST_BASE_BUSYBOX=$BASE_BUSYBOX
export STRATA_TEST_PUBLISHED_DEBIAN=127.0.0.1:$REGISTRY_PORT/$BASE_DEBIAN
export STRATA_TEST_MULTI_PLATFORM_BUSYBOX=127.0.0.1:$REGISTRY_PORT/$MULTI_BUSYBOX:latest
export STRATA_SSH_COMMAND="ssh -F $SSH_DIR/config"
export STRATA_TEST_SSH=ssh://$(id -un)@127.0.0.1:$SSH_PORT
export STRATA_DEV_LOGS=$LOGS
export STRATA_TEST_CHECK_JSONSCHEMA=$TOOLS/venv/bin/check-jsonschema
export STRATA_TEST_SIGN_PYTHON=$TOOLS/venv/bin/python
export STRATA_TEST_GITLAB_CI_LOCAL=$TOOLS/npm/node_modules/.bin/gitlab-ci-local
export STRATA_TEST_PLAYWRIGHT_CORE=$TOOLS/npm/node_modules/playwright-core
export STRATA_TEST_CHROMIUM=$(command -v chromium || echo /usr/bin/chromium)
ENV
  if podman_up; then
    echo "export STRATA_TEST_PODMAN_HOST=unix://$PODMAN_SOCKET" >>"$ENV_FILE"
  fi
  echo "$ENV_FILE"
}

stop_pidfile() {
  local file=$1
  [ -s "$file" ] || return 0
  local pid; pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

cmd=${1:-up}
with_podman=${STRATA_DEV_PODMAN:-}
[ "${2:-}" = --podman ] && with_podman=1
mkdir -p "$STATE" "$LOGS"
case "$cmd" in
  up)
    install_packages
    start_daemon
    start_registry registry "$REGISTRY_PORT" no
    start_registry registry-auth "$AUTH_REGISTRY_PORT" yes
    make_busybox_image
    make_debian_image
    publish_bases
    enable_emulation
    make_arm64_busybox_image
    publish_multi_platform_base
    start_sshd
    install_ci_tools
    [ -n "$with_podman" ] && start_podman
    write_env
    ;;
  down)
    stop_pidfile "$STATE/registry/pid"
    stop_pidfile "$STATE/registry-auth/pid"
    stop_pidfile "$STATE/dockerd.pid"
    stop_pidfile "$PODMAN_DIR/pid"
    stop_pidfile "$SSH_DIR/pid"
    log "stopped (logs kept in $LOGS)"
    ;;
  status)
    daemon_up && echo "dockerd: up ($SOCKET)" || echo "dockerd: down"
    registry_up "$REGISTRY_PORT" && echo "registry: up (127.0.0.1:$REGISTRY_PORT)" || echo "registry: down"
    registry_up "$AUTH_REGISTRY_PORT" && echo "registry-auth: up (127.0.0.1:$AUTH_REGISTRY_PORT)" || echo "registry-auth: down"
    podman_up && echo "podman: up ($PODMAN_SOCKET)" || echo "podman: down"
    sshd_up && echo "sshd: up (127.0.0.1:$SSH_PORT)" || echo "sshd: down"
    ;;
  env) write_env ;;
  # The runtime choice alone (the images must be in Podman's storage): what `up --podman` does.
  podman-runtime) choose_podman_runtime ;;
  *) die "unknown command \`$cmd\` (use up, down, status or env)" ;;
esac
