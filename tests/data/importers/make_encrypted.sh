#!/bin/sh
# One-off: writes encrypted.pdf (user password "lectern-secret") with Ghostscript. CI only reads the result.
set -eu
cd "$(dirname "$0")"
ps=$(mktemp)
trap 'rm -f "$ps"' EXIT
cat >"$ps" <<'PS'
%!PS
/Helvetica findfont 14 scalefont setfont
72 700 moveto (Privileged and confidential memo.) show
showpage
PS
gs -q -dNOPAUSE -dBATCH -sDEVICE=pdfwrite -sOwnerPassword=lectern-owner -sUserPassword=lectern-secret \
   -dEncryptionR=3 -dKeyLength=128 -sOutputFile=encrypted.pdf "$ps"
