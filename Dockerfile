# Production image of the clinmatch API and its one-off migrate step.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 CLINMATCH_MODEL_DIR=/opt/clinmatch/models
WORKDIR /opt/clinmatch
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY matching ./matching
COPY migrations ./migrations
COPY seed ./seed
RUN pip install . && python -m matching.model_build --out "$CLINMATCH_MODEL_DIR"
RUN useradd --system --home /opt/clinmatch clinmatch && chown -R clinmatch /opt/clinmatch
USER clinmatch
EXPOSE 8000
CMD ["uvicorn", "app.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--workers", "4", "--proxy-headers"]
