#!/usr/bin/env bash
# Renders a workbook as a clinic director would see it printed: LibreOffice converts it to
# PDF, then pdftoppm writes one PNG per page. Installs LibreOffice Calc and poppler from
# Debian's packages when they are missing (needs root and the package archive).
# Usage: scripts/render-workbook.sh FILE.xlsx [OUTDIR]     (default OUTDIR: render/ beside FILE)
set -euo pipefail
x=$(realpath "$1")
out=${2:-$(dirname "$x")/render}
if ! command -v soffice >/dev/null || ! command -v pdftoppm >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc poppler-utils >/dev/null
fi
mkdir -p "$out"
soffice --headless --norestore --convert-to pdf --outdir "$out" "$x" >/dev/null 2>&1
pdf="$out/$(basename "${x%.*}").pdf"
[ -s "$pdf" ] || { echo "LibreOffice could not render $x" >&2; exit 1; }
pdftoppm -png -r 70 "$pdf" "$out/page"
ls "$out"/page-*.png
