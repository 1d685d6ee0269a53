FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends fonts-ipaexfont libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -c requirements/constraints.txt "."
ENV DJANGO_SETTINGS_MODULE=jukinet.settings.base
# Writable for the national simulator's data and the shared PKI volume (named volumes copy this ownership).
RUN mkdir -p var/pki var/national && chown -R nobody var
USER nobody
