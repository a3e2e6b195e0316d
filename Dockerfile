FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scaling_ops ./scaling_ops
COPY pathways ./pathways
COPY workforce ./workforce
COPY assurance ./assurance
COPY learning ./learning
RUN pip install --no-cache-dir .
COPY . .
# DEBUG off serves hashed static names from the manifest this writes; without it every page is
# a 500, so the image always carries it (the readiness check and `manage.py check` say so).
RUN DEBUG=0 SECRET_KEY=build-only ALLOWED_HOSTS=build python manage.py collectstatic --noinput
# Processes run as an unprivileged user: a flaw in a request handler cannot rewrite the code or
# the static files. It owns only the private-media folder (a new named volume copies this
# ownership on first mount) and /tmp, where beat keeps its schedule.
RUN useradd --system --uid 10001 --no-create-home --home-dir /app scaling_ops \
    && mkdir -p /app/private-media && chown scaling_ops /app/private-media
USER scaling_ops
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "scaling_ops.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
