#!/usr/bin/env bash
# Run klpanel as it is deployed, on loopback: N `panel serve` processes behind Debian's nginx (deploy/nginx.conf,
# ports rewritten). Prints the URL; Ctrl+C stops everything it started.
#   deploy/run_local.sh [N=2] [nginx port=8080] [first app port=5006]
# KLPANEL_APP=path/to/app.py serves another app file (the test uses a light page); KLPANEL_RUN_DIR=dir keeps
# the logs and nginx's files there (default: a temporary directory, removed on exit).
# Needs nginx (as root: apt-get install -y nginx-light). tests/reliability/test_nginx.py checks the same set-up.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-2}"; port="${2:-8080}"; first="${3:-5006}"
py="$here/.venv/bin/python"
command -v nginx >/dev/null || { echo "nginx is not installed (as root: apt-get install -y nginx-light)" >&2; exit 1; }
app="${KLPANEL_APP:-apps/kl_explorer.py}"; index="$(basename "$app" .py)"
keep="${KLPANEL_RUN_DIR:-}"
if [ -n "$keep" ]; then mkdir -p "$keep"; run="$(cd "$keep" && pwd)"; else run="$(mktemp -d)"; fi
chmod 755 "$run"   # nginx's workers (user nobody) use its temp directories
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "$keep" ] || rm -rf "$run"
}
trap cleanup EXIT INT TERM

upstreams=""
for ((i = 0; i < n; i++)); do
    p=$((first + i))
    upstreams+="    server 127.0.0.1:$p;\n"
    (cd "$here" && PYTHONPATH="$here" exec "$py" -m panel serve "$app" --plugins klpanel.server.api \
        --plugins klpanel.server.admin --plugins klpanel.server.assets --index "$index" --address 127.0.0.1 --port "$p" \
        --allow-websocket-origin "127.0.0.1:$port" --allow-websocket-origin "localhost:$port" --use-xheaders \
        --liveness --admin --setup apps/server_setup.py) >"$run/app-$p.log" 2>&1 &
    pids+=($!)
done
# the site file with this run's ports, inside a minimal main config that runs in the foreground
sed -e '/^    server 127.0.0.1:/d' -e "s/^    ip_hash;.*/&\n$upstreams/" -e "s/listen 8080;/listen 127.0.0.1:$port;/" \
    "$here/deploy/nginx.conf" >"$run/klpanel.conf"
cat >"$run/nginx.conf" <<CONF
worker_processes 1;
pid $run/nginx.pid;
error_log $run/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log $run/nginx-access.log;
    client_body_temp_path $run/body; proxy_temp_path $run/proxy;
    fastcgi_temp_path $run/fastcgi; uwsgi_temp_path $run/uwsgi; scgi_temp_path $run/scgi;
    include $run/klpanel.conf;
}
CONF
nginx -p "$run" -c "$run/nginx.conf" -g "daemon off;" &
pids+=($!)
for ((i = 0; i < n; i++)); do
    for ((t = 0; ; t++)); do
        curl -fs "http://127.0.0.1:$((first + i))/liveness" >/dev/null && break
        ((t < 300)) || { echo "app on port $((first + i)) did not start; its log:" >&2; cat "$run/app-$((first + i)).log" >&2; exit 1; }
        sleep 1
    done
done
echo "klpanel: $n app processes behind nginx at http://127.0.0.1:$port/$index (API /api/health); logs in $run"
wait
