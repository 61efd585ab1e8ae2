# durationd from the shell: JSON lines over the socket with socat (and jq to pick fields).
# Each argument is one request; the answers come back one line each, in order.
# `# →` marks what each command prints (… stands for what varies).
sock=${DURATIOND_SOCKET:-/run/durationd/durationd.sock}
durationd_json() { printf '%s\n' "$@" | socat -t 5 - "UNIX-CONNECT:$sock"; }

durationd_json '{"op":"ping","id":1}'
# → {"id":1,"ok":true,"result":"pong"}

durationd_json '{"op":"cache.put","id":2,"args":{"key":"greeting","value":"hello","ttl_ms":60000}}' \
               '{"op":"cache.get","id":3,"args":{"key":"greeting"}}'
# → {"id":2,"ok":true,"result":{"stored":true}}
# → {"id":3,"ok":true,"result":{"value":"hello","ttl_ms":…}}

durationd_json '{"op":"cache.get","args":{"key":"nope"}}'
# → {"ok":false,"error":{"code":"NOT_FOUND","message":"…"}}

id=$(durationd_json '{"op":"timer.start","args":{"task":"write the report","tags":["work"],"planned_ms":1500000}}' |
     jq .result.id)
durationd_json '{"op":"timer.stop","args":{"id":'"$id"',"focus":4}}' | jq -c '.result | {task, state, focus}'
# → {"task":"write the report","state":"completed","focus":4}

# admin.status answers root, the daemon's own user and the configured admins only.
durationd_json '{"op":"admin.status"}' | jq -c '.result | {version, timer, connections: .connections.current}'
# → {"version":"…","timer":{"sessions":…,"running":…},"connections":…}
