# bench/lib.sh - shell helpers the daemon benchmarks share (sourced by
# load.sh, pg_load.sh, city.sh, hsm_audit.sh); defines functions only.

# free_port: a TCP port free on loopback right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# bench_app_json SOURCE_DIR OUT: spec/examples/api/permit_new.json with its
# dates moved from 2026-11-26 to today (China Standard Time), so credentials
# issued from it are valid whenever a benchmark runs.
bench_app_json() {
  python3 - "$1/spec/examples/api/permit_new.json" "$2" <<'PY'
import datetime, json, sys
body = json.load(open(sys.argv[1]))
today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()
shift = today - datetime.date(2026, 11, 26)
for k in ("registration_date", "valid_from", "valid_until", "endorsement_date"):
    if k in body.get("credential", {}):
        body["credential"][k] = (datetime.date.fromisoformat(body["credential"][k]) + shift).isoformat()
json.dump(body, open(sys.argv[2], "w"), ensure_ascii=False)
PY
}
