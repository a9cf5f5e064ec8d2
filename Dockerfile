# The console's image: web (gunicorn), worker and beat (celery) and the access hub
# (`manage.py runhub`) from one image; the command picks the process (docker-compose.yml,
# deploy/helm/cceone/). The agent has its own image (agent/Dockerfile).
FROM python:3.11-slim AS build

ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY agent ./agent
RUN python -m venv /opt/venv && /opt/venv/bin/pip install ./agent
COPY . .
RUN /opt/venv/bin/pip install .
# Compiled translations and collected static files are part of the image: build-time
# settings only (throwaway secrets, nothing is kept from them).
RUN SECRET_KEY=build-only CCEONE_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktMzItYnl0ZXMtbG9uZy0tLS0= \
    CCEONE_HUB_SECRET=build-only DJANGO_SETTINGS_MODULE=cceone.settings_production \
    STATIC_ROOT=/src/staticfiles /opt/venv/bin/python manage.py compiletranslations \
    && SECRET_KEY=build-only CCEONE_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktMzItYnl0ZXMtbG9uZy0tLS0= \
    CCEONE_HUB_SECRET=build-only DJANGO_SETTINGS_MODULE=cceone.settings_production \
    STATIC_ROOT=/src/staticfiles /opt/venv/bin/python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf var .venv tests

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=cceone.settings_production STATIC_ROOT=/app/staticfiles \
    CCEONE_LOG_FORMAT=json PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    CCEONE_HUB_PUBLIC_LISTEN=0.0.0.0:9443 CCEONE_HUB_INTERNAL_LISTEN=0.0.0.0:9444
# A fixed non-root UID (restricted PodSecurity); the root filesystem may be read-only:
# only /tmp (the metrics' multiprocess files) and /app/var (hub TLS when not mounted) are written.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin cceone
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=10001:10001 /src /app
WORKDIR /app
USER 10001:10001
EXPOSE 8000 9443 9444
STOPSIGNAL SIGTERM
# web; the others: `celery -A cceone worker`, `celery -A cceone beat`, `python manage.py runhub`.
CMD ["sh", "-c", "mkdir -p $PROMETHEUS_MULTIPROC_DIR && exec gunicorn cceone.wsgi --bind 0.0.0.0:8000 --workers ${WEB_WORKERS:-2} --threads ${WEB_THREADS:-4} --access-logfile - --log-level warning"]
