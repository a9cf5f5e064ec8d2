import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cceone.settings")
application = get_wsgi_application()

# The slowest requests of the list pages (their p95) were the garbage collector's, not
# their queries or templates: a page of fleets allocates thousands of objects, and every
# few requests a full collection walked the whole framework. So: import every view now
# rather than on the first requests, move everything loaded so far out of the collector's
# sight (it lives as long as the process), and collect the young generation after 50,000
# allocations rather than 700 (a request's objects are mostly freed by reference counting;
# cycles wait a little longer). benchmarks/cluster_list.py starts its process the same way.
get_resolver().url_patterns
gc.freeze()
gc.set_threshold(50_000, 20, 20)
