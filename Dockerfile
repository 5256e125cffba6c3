# One image for migrate, web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

# Settings come from the container's environment only: no .env file is read in the
# image (.dockerignore keeps it out too).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WAITIFY_ENV_FILE=""
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir -e .
COPY . .
RUN python manage.py compilemessages --ignore=.venv -v 0 \
    && DEBUG=false python manage.py collectstatic --no-input -v 0
# Beat's schedule directory exists in the image so its volume is created writable by waitify.
RUN useradd --create-home waitify && mkdir -p /var/lib/celerybeat \
    && chown -R waitify /app /var/lib/celerybeat
USER waitify
EXPOSE 8000
# Exec form: gunicorn is PID 1 and receives SIGTERM itself.
CMD ["gunicorn", "waitify.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
