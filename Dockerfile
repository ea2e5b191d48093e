# The reference service: customer-health with the service and postgres extras.
#
#   docker build -t customer-health .
#   docker run -p 8000:8000 -e CUSTOMER_HEALTH_DATABASE_URL=postgresql+psycopg://user:pw@db/health customer-health
#
# Without CUSTOMER_HEALTH_DATABASE_URL it serves a SQLite file in /data (mount a volume
# there to keep it). Settings are CUSTOMER_HEALTH_* variables (docs/service.md).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install ".[service,postgres]" && useradd --create-home --uid 10001 app \
    && mkdir /data && chown app /data

USER app
WORKDIR /data
EXPOSE 8000
CMD ["customer-health", "serve", "--host", "0.0.0.0", "--port", "8000"]
