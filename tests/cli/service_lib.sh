# Sourced by the service tests (test_cluster_service.sh, test_soak.sh), which
# define fail() and keep the three parties' PIDs in pids[].
# SIGTERM every party: each must exit 0, all within 5 s.
stop_parties() {
  local t0 rc i
  t0=$(date +%s)
  for i in 0 1 2; do kill -TERM "${pids[$i]}"; done
  for i in 0 1 2; do
    rc=0; wait "${pids[$i]}" || rc=$?
    [ "$rc" -eq 0 ] || fail "P$i exited with $rc on SIGTERM"
  done
  [ $(( $(date +%s) - t0 )) -le 5 ] || fail "SIGTERM took more than 5 s"
  pids=()
}
