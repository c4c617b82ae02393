#!/usr/bin/env bash
# `cmake --install` puts the programs, the systemd unit template and the
# deployment guide under a prefix; the unit names the installed caracal-party,
# carries the restart policy and hardening docs/DEPLOY.md promises, passes
# only options caracal-party knows, and (where systemd-analyze exists)
# verifies without a single complaint.
set -euo pipefail
build=$1
prefix=$(mktemp -d); trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >"$prefix/install.log" 2>&1 ||
  { cat "$prefix/install.log"; echo "FAIL: cmake --install (are all programs built?)"; exit 1; }
for p in caracal-party caracal-keygen caracal-share caracal-ref llama7b_token; do
  [ -x "$prefix/bin/$p" ] || { echo "FAIL: $p not installed"; exit 1; }
done
"$prefix/bin/caracal-party" --help >"$prefix/help" || { echo "FAIL: installed caracal-party does not run"; exit 1; }
unit=$prefix/lib/systemd/system/caracal-party@.service
[ -r "$unit" ] || { echo "FAIL: $unit missing"; exit 1; }
[ -r "$prefix/share/doc/caracal/DEPLOY.md" ] || { echo "FAIL: DEPLOY.md not installed"; exit 1; }
grep -q "^ExecStart=$prefix/bin/caracal-party " "$unit" || { echo "FAIL: ExecStart does not name $prefix/bin"; exit 1; }
for want in Restart=on-failure User=caracal NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
            PrivateTmp=yes "ReadOnlyPaths=/var/lib/caracal/bundle" CapabilityBoundingSet= \
            "LoadCredential=party.key:/etc/caracal/p%i.key"; do
  grep -q "^$want" "$unit" || { echo "FAIL: the unit lacks $want"; exit 1; }
done
# ExecStart's command line is one the installed caracal-party accepts: run
# it with the specifiers filled in and a config that does not exist, and it
# must fail on that file (exit 1), not on its arguments (exit 2)
exec_line=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed 's/\\$//' | tr '\n' ' ' | sed 's/^ExecStart=//')
exec_line=${exec_line//%i/0}
exec_line=${exec_line//%d/$prefix/cred}
exec_line=${exec_line//\/etc\/caracal\/cluster.conf/$prefix/no-such.conf}
exec_line=${exec_line//\$CARACAL_PARTY_ARGS/}
rc=0; timeout 20 $exec_line --quiet >"$prefix/run.log" 2>&1 || rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "no-such.conf" "$prefix/run.log"; then
  cat "$prefix/run.log"; echo "FAIL: the unit's command line: rc=$rc ($exec_line)"; exit 1
fi
if command -v systemd-analyze >/dev/null; then
  mkdir "$prefix/units"
  cp "$unit" "$prefix/units/"
  ln -s caracal-party@.service "$prefix/units/caracal-party@1.service"
  out=$(systemd-analyze verify --man=no "$prefix/units/caracal-party@1.service" 2>&1) || true
  if grep -q "caracal-party@" <<<"$out"; then echo "$out"; echo "FAIL: systemd-analyze verify"; exit 1; fi
else
  echo "note: no systemd-analyze, unit syntax not verified"
fi
echo "install test passed"
