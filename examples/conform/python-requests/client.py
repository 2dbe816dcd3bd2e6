"""One request through requests + urllib3 Retry, configured as the usual
articles do (total=3, backoff_factor, status_forcelist=[429, 500, 502, 503,
504], respect_retry_after_header=True), driven by retrylab conform's
RETRYLAB_ environment variables. Exit 0 with a response, 1 without."""
import os
import time
from datetime import datetime

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

retry = Retry(
    total=3,
    backoff_factor=0.1,
    status_forcelist=[429, 500, 502, 503, 504],
    respect_retry_after_header=True,
)
session = requests.Session()
session.mount("http://", HTTPAdapter(max_retries=retry))

env = os.environ
headers = {}
for line in env["RETRYLAB_HEADERS"].splitlines():
    name, _, value = line.partition(":")
    headers[name.strip()] = value.strip()
body = None
if env["RETRYLAB_BODY_FILE"]:
    with open(env["RETRYLAB_BODY_FILE"], "rb") as f:
        body = f.read()

# requests takes no overall deadline: each attempt gets a read timeout of
# 0.5 s, never past the caller's deadline.
deadline = datetime.fromisoformat(env["RETRYLAB_DEADLINE"].replace("Z", "+00:00")).timestamp()
timeout = max(0.001, min(0.5, deadline - time.time()))
try:
    resp = session.request(env["RETRYLAB_METHOD"], env["RETRYLAB_URL"], headers=headers, data=body, timeout=timeout)
except requests.RequestException as e:
    # On stdout, at once: the moment the client returned.
    print(f"error: {e}", flush=True)
    raise SystemExit(1)
print(resp.status_code, flush=True)
