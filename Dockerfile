FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ENGAGE_DATA_DIR=/var/lib/engage
WORKDIR /app
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY engage engage
COPY commerce commerce
COPY bots bots
COPY workers workers
COPY web web
COPY alembic.ini ./
RUN pip install --no-cache-dir .
RUN useradd --system --home /var/lib/engage engage && mkdir -p /var/lib/engage && chown engage /var/lib/engage
USER engage
EXPOSE 8000
CMD ["engage", "serve", "--host", "0.0.0.0", "--port", "8000"]
