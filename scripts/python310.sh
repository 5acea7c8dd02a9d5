#!/usr/bin/env bash
# Prints the path of a working Python 3.10 interpreter (Rasa 3.6 needs 3.8-3.10).
set -euo pipefail
for candidate in "${PYTHON310:-}" python3.10 "$(command -v pyenv >/dev/null && echo "$(pyenv root)/versions/3.10"*/bin/python3.10)" /root/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
  [ -n "$candidate" ] || continue
  if path=$("$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10); print(sys.executable)' 2>/dev/null); then
    echo "$path"
    exit 0
  fi
done
echo "No Python 3.10 found: Rasa 3.6 needs it. Install it (e.g. 'pyenv install 3.10') or set PYTHON310=/path/to/python3.10." >&2
exit 1
