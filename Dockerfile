# The image docker-compose.yml runs: Python 3.11, WeasyPrint's system libraries, the locked dependencies.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN useradd --create-home payplan && mkdir -p var && chown -R payplan var
USER payplan
EXPOSE 8000
