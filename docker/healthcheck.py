"""The image's HEALTHCHECK: exit 0 when gunicorn answers /healthz with 200, else exit 1.

Standard library only (the slim image has no curl). It asks the port that docker/gunicorn.conf.py
binds, names a host Django accepts (a bare 127.0.0.1 is refused unless it is in
DJANGO_ALLOWED_HOSTS), and says the request is HTTPS: gunicorn trusts that header from
127.0.0.1 (FORWARDED_ALLOW_IPS), so a DJANGO_SECURE_SSL_REDIRECT does not turn the check into
a redirect. Redirects are not followed: a 301 is reported as unhealthy, not hidden.
"""

import os
import sys
import urllib.error
import urllib.request


def address() -> str:
    """host:port to ask, from GUNICORN_BIND (an address gunicorn listens on everywhere is
    asked on the loopback)."""
    bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").split(",")[0].strip()
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "[::]":
        host = "[::1]"
    return f"{host}:{port}"


def host_header() -> str:
    """The first host in DJANGO_ALLOWED_HOSTS, as a Host header Django will accept."""
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")]
    first = next((h for h in hosts if h), "localhost")
    if first == "*":
        return "localhost"
    return first.lstrip(".")  # ".example.com" allows example.com itself


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main() -> int:
    request = urllib.request.Request(
        f"http://{address()}/healthz",
        headers={
            "Host": host_header(),
            "X-Forwarded-Proto": "https",
            "X-Request-ID": "healthcheck",
        },
    )
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(request, timeout=3) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:  # refused, timed out, reset
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"healthcheck: /healthz answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
