#!/bin/sh
# gen.sh regenerates the key lists of Open vSwitch's tests/odp.at that
# flow/odp_test.go checks, by running the shell lines of two of its tests
# (with GNU sed, as OVS's test suite does):
#
#   odp-in.txt   "OVS datapath key parsing and formatting - valid forms":
#                the keys fed to "ovstest test-odp parse-keys"
#   odp-out.txt  the same test: what test-odp must print for them
#   odp-wc.txt   "OVS datapath wildcarded key parsing and formatting -
#                valid forms": the keys fed to "test-odp parse-wc-keys",
#                which must print them unchanged
#
# The files in this directory came from OVS v3.1.2:
#
#   git -C OVS-REPO show v3.1.2:tests/odp.at > /tmp/odp.at
#   sh gen.sh /tmp/odp.at .
#
# The sed lines run as they are, quirks included: in basic regular
# expressions "?" is an ordinary character, so the "MPLS header" variants
# are copies of the base list; and three sed commands of the wildcarded
# test contain an unescaped "/" and fail ("number option to `s' command
# may not be zero"), so its "tunnel and VLAN headers" and both "ERSPAN"
# sections are empty, in OVS's own test run as well.
set -e
ODP_AT=${1:?usage: gen.sh ODP.AT OUTDIR}
OUT=${2:?usage: gen.sh ODP.AT OUTDIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# body TITLE prints the shell text of the test TITLE up to its first
# AT_CHECK, with autotest's quoting undone ([[ and ]] stand for [ and ])
# and AT_DATA turned into a here-document.
body() {
	awk -v title="AT_SETUP([$1])" '
		$0 == title { on = 1; next }
		on && /^AT_CHECK/ { exit }
		on && /^AT_CAPTURE_FILE/ { next }
		on && /^dnl / { next }
		on && /^AT_DATA\(\[/ {
			f = $0; sub(/^AT_DATA\(\[/, "", f); sub(/\].*/, "", f)
			print "cat > " f " <<'"'"'EOD'"'"'"; data = 1; next
		}
		on && data && $0 == "])" { print "EOD"; data = 0; next }
		on { gsub(/\[\[/, "["); gsub(/\]\]/, "]"); print }
	' "$ODP_AT"
}
body 'OVS datapath key parsing and formatting - valid forms' > "$work/keys.sh"
body 'OVS datapath wildcarded key parsing and formatting - valid forms' > "$work/wc.sh"
# The exit status of the scripts is that of their last command, which
# OVS's test does not check either.
(cd "$work" && sh keys.sh) || true
cp "$work/odp-in.txt" "$work/odp-out.txt" "$OUT"/
(cd "$work" && rm -f odp-base.txt && sh wc.sh 2>/dev/null) || true
cp "$work/odp.txt" "$OUT/odp-wc.txt"
