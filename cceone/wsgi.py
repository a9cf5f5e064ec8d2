import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cceone.settings")
application = get_wsgi_application()

# Import every view now rather than on the first requests, then move everything loaded so
# far out of the garbage collector's sight: it lives as long as the process, and the
# collector's full passes over it (a hundred milliseconds and more) were the slowest
# requests of the list pages (p95), not their queries or templates.
get_resolver().url_patterns
gc.freeze()
