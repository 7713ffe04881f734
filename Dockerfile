# mockspice as a container for partners' CI: `docker run -p 8080:8080 mockspice`.
# The container binds 0.0.0.0 (set MOCKSPICE_CONTROL_TOKEN to guard the control API).
FROM python:3.11-slim

WORKDIR /src
COPY setup.cfg pyproject.toml README.md ./
COPY mockspice ./mockspice
RUN pip install --no-cache-dir . && rm -rf /src

WORKDIR /
ENV MOCKSPICE_HOST=0.0.0.0 \
    MOCKSPICE_PORT=8080
EXPOSE 8080
USER nobody
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/_mockspice/health')"
CMD ["mockspice", "serve"]
