"""Fail when a translatable string in the code is missing from the zh_Hans catalogue or
the catalogue has untranslated or fuzzy entries. The committed catalogue is left as is."""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polib

PO = Path("locale/zh_Hans/LC_MESSAGES/django.po")
IGNORE = [".venv/*", "agent/*", "sandbox/*", "tests/*", "benchmarks/*", "staticfiles/*", "var/*"]

with tempfile.TemporaryDirectory() as tmp:
    saved = Path(tmp) / "django.po"
    shutil.copy(PO, saved)
    try:
        args = [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location", "-v0"]
        for pattern in IGNORE:
            args += ["--ignore", pattern]
        subprocess.run(args, check=True)
        extracted = {(e.msgctxt, e.msgid) for e in polib.pofile(str(PO)) if not e.obsolete}
    finally:
        shutil.copy(saved, PO)

catalogue = polib.pofile(str(PO))
known = {(e.msgctxt, e.msgid) for e in catalogue if not e.obsolete}
missing = sorted(m for _, m in extracted - known)
untranslated = [e.msgid for e in catalogue.untranslated_entries()]
fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
for title, items in (("missing from the catalogue", missing), ("untranslated", untranslated), ("fuzzy", fuzzy)):
    for item in items:
        print(f"zh_Hans {title}: {item!r}")
if missing or untranslated or fuzzy:
    sys.exit("translations incomplete: run `manage.py makemessages -l zh_Hans --no-location` and translate")
print(f"zh_Hans catalogue complete: {len(known)} messages")
