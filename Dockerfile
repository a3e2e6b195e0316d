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
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "scaling_ops.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
