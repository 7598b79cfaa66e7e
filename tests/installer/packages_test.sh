#!/usr/bin/env bash
# Builds the packages from this build, signs them with a throwaway key made here, verifies them, checks
# that one flipped byte (or a missing signature) fails verification, installs the .deb into a scratch
# root with dpkg --root, runs the installed CLI (version, import and ask with the bundled model), upgrades
# it to a higher version and removes it, and checks that neither touches the user's data.
set -euo pipefail
source_dir=$1 build_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

step "cpack"
(cd "$build_dir" && cpack -G "DEB;TGZ" -B "$work/packages" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/packages/*.deb)
tgz=$(ls "$work"/packages/*.tar.gz)
dpkg-deb --field "$deb" Package Version Depends
dpkg-deb --contents "$deb" >"$work/contents"
for path in ./usr/bin/lectern ./usr/bin/lectern-cli ./usr/share/applications/org.lectern.Lectern.desktop \
            ./usr/share/metainfo/org.lectern.Lectern.metainfo.xml \
            ./usr/share/icons/hicolor/scalable/apps/org.lectern.Lectern.svg \
            ./usr/share/doc/lectern/copyright ./usr/share/doc/lectern/changelog.gz \
            ./usr/share/lectern/models/SmolLM2-135M-Instruct.Q4_1.gguf; do
  grep -q " $path\$" "$work/contents" || fail "the .deb lacks $path"
done
dpkg-deb --field "$deb" Depends | grep -q 'libqt6sql6-sqlite' || fail "Depends lacks the Qt SQLite driver"
file "$build_dir/bin/lectern" >/dev/null
dpkg-deb -x "$deb" "$work/unpacked"
file "$work/unpacked/usr/bin/lectern-cli" | grep -q 'stripped' || fail "binaries are not stripped"
file "$work/unpacked/usr/bin/lectern-cli" | grep -q 'not stripped' && fail "binaries are not stripped"

step "lintian"
lintian --fail-on error --suppress-tags-from-file /dev/null "$deb" | tee "$work/lintian.log" || fail "lintian reports errors"

step "sign with a throwaway key"
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "Lectern Test <test@lectern.invalid>" ed25519 sign 1d
fingerprint=$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')
gpg --batch --armor --export "$fingerprint" >"$work/public.asc"
"$source_dir/installer/sign" --key "$fingerprint" "$deb" "$tgz"
for f in "$deb.asc" "$tgz.asc" "$work/packages/SHA256SUMS" "$work/packages/SHA256SUMS.asc"; do
  [ -s "$f" ] || fail "signing did not produce $f"
done
unset GNUPGHOME # verification must work from the public key alone

step "verify"
"$source_dir/installer/verify" --key "$work/public.asc" "$deb" "$tgz" || fail "verification of good packages"

expect_rejected() {
  local what=$1; shift
  if "$source_dir/installer/verify" --key "$work/public.asc" "$@" 2>"$work/verify.err"; then
    fail "verification accepted $what"
  fi
  printf 'rejected as expected (%s): %s\n' "$what" "$(tail -n 1 "$work/verify.err")"
}
flip_byte() { # flips every bit of the byte at $2 in file $1
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((255 - byte)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
for target in deb tgz; do
  rm -rf "$work/t" && cp -r "$work/packages" "$work/t"
  victim=$work/t/$(basename "${!target}")
  flip_byte "$victim" $(($(stat -c %s "$victim") / 2))
  expect_rejected "a $target with one flipped byte" "$work/t"/*.deb "$work/t"/*.tar.gz
done
rm -rf "$work/t" && cp -r "$work/packages" "$work/t"
debsigs --delete=origin "$work/t/$(basename "$deb")" >/dev/null 2>&1 || true
expect_rejected "a .deb without its origin signature" "$work/t"/*.deb
rm -rf "$work/t" && cp -r "$work/packages" "$work/t"
gpg --homedir "$work/gnupg" --batch --quiet --passphrase '' --quick-gen-key "Mallory <m@invalid>" ed25519 sign 1d
mallory=$(gpg --homedir "$work/gnupg" --batch --with-colons --list-secret-keys Mallory | awk -F: '$1 == "fpr" { print $10; exit }')
"$source_dir/installer/sign" --homedir "$work/gnupg" --key "$mallory" "$work/t"/*.deb "$work/t"/*.tar.gz >/dev/null
expect_rejected "packages signed by another key" "$work/t"/*.deb "$work/t"/*.tar.gz

step "install into a scratch root"
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
# Dependencies are the host's own libraries, which the scratch root does not hold.
dpkg --root="$root" --force-depends --log=/dev/null -i "$deb" >/dev/null
cli=$root/usr/bin/lectern-cli
"$cli" --version | tee "$work/version"
grep -qx "lectern-cli $(dpkg-deb --field "$deb" Version)" "$work/version" || fail "installed CLI reports the wrong version"

# User data lives in XDG directories: made by the installed CLI, untouched by package removal.
export XDG_DATA_HOME=$work/xdg LECTERN_CACHE=$work/empty-cache
mkdir -p "$LECTERN_CACHE"
if "$cli" --help | grep -q '^  sessions'; then
  "$cli" sessions >/dev/null
  [ -f "$XDG_DATA_HOME/Lectern/lectern.sqlite3" ] || fail "the CLI kept no data in the XDG data directory"
fi
if "$cli" --help | grep -q '^  ask'; then
  step "import and ask with the installed default model"
  mkdir -p "$work/corpus"
  printf 'The lease for the warehouse at 12 Dock Road ends on 31 March 2027.\n' >"$work/corpus/lease.txt"
  "$cli" import --session smoke "$work/corpus" >/dev/null
  "$cli" --json ask --session smoke --model default "When does the warehouse lease end?" >"$work/answer.json"
  grep -q '"answer"' "$work/answer.json" || fail "ask gave no answer"
fi

step "upgrade, then remove"
# The same package under a higher version: an upgrade must leave the user's data as it was.
dpkg-deb -R "$deb" "$work/next"
sed -i -E 's/^Version: (.*)$/Version: \1+1/' "$work/next/DEBIAN/control"
dpkg-deb -Zgzip -b "$work/next" "$work/next.deb" >/dev/null
data_before=$(find "$XDG_DATA_HOME" -type f -exec sha256sum {} + 2>/dev/null | sort)
dpkg --root="$root" --force-depends --log=/dev/null -i "$work/next.deb" >/dev/null
[ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version}' lectern)" = "$(dpkg-deb --field "$deb" Version)+1" ] ||
  fail "the upgrade did not install the new version"
"$cli" --version >/dev/null || fail "the upgraded CLI does not run"
[ "$(find "$XDG_DATA_HOME" -type f -exec sha256sum {} + 2>/dev/null | sort)" = "$data_before" ] ||
  fail "the upgrade changed user data"

dpkg --root="$root" --force-depends --log=/dev/null -r lectern >/dev/null
[ ! -e "$cli" ] || fail "removal left the CLI behind"
if [ -d "$XDG_DATA_HOME/Lectern" ]; then
  [ -f "$XDG_DATA_HOME/Lectern/lectern.sqlite3" ] || fail "removal touched user data"
fi
echo "installer: all checks passed"
