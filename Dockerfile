# perfmgmt: one image for web (gunicorn), Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=perfmgmt.settings.production

WORKDIR /app
RUN useradd --create-home --uid 10001 perfmgmt

COPY requirements/base.txt requirements/base.txt
RUN pip install -r requirements/base.txt

COPY . .
# collectstatic needs a secret to import the production settings; this one lives only in this build step.
RUN DJANGO_SECRET_KEY=build-only-collectstatic python manage.py collectstatic --no-input \
    && mkdir -p /app/var && chown -R perfmgmt /app/var

USER perfmgmt
EXPOSE 8000
CMD ["gunicorn", "perfmgmt.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
