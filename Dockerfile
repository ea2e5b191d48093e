# The reference service: customer-health with the service and postgres extras.
#
#   docker build -t customer-health .
#   docker run -p 8000:8000 -e CUSTOMER_HEALTH_API_KEYS=a-long-secret \
#       -e CUSTOMER_HEALTH_DATABASE_URL=postgresql+psycopg://user:pw@db/health customer-health
#
# It listens on 0.0.0.0, so it refuses to start without API keys
# (CUSTOMER_HEALTH_API_KEYS, comma-separated; clients send X-API-Key). To serve it
# open on purpose (a private network, a proxy that authenticates), pass
# -e CUSTOMER_HEALTH_ALLOW_OPEN=true instead. Without CUSTOMER_HEALTH_DATABASE_URL it
# serves a SQLite file in /data (mount a volume there to keep it), with no sample
# customers. Settings are CUSTOMER_HEALTH_* variables (docs/service.md).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CUSTOMER_HEALTH_SAMPLE_CUSTOMERS=0
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install ".[service,postgres]" && useradd --create-home --uid 10001 app \
    && mkdir /data && chown app /data

USER app
WORKDIR /data
EXPOSE 8000
CMD ["customer-health", "serve", "--host", "0.0.0.0", "--port", "8000"]
