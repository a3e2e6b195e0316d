"""gunicorn's settings beside the command line's (named with ``-c gunicorn.conf.py`` by compose
and the Dockerfile; bind, workers and timeout stay on the command line).

gunicorn sets the request's scheme from X-Forwarded-Proto by itself when the peer is in
``forwarded_allow_ips`` (127.0.0.1 by default), which would let a local client claim HTTPS even
where Django trusts no proxy. So gunicorn trusts exactly what Django trusts: the reverse
proxies counted by TRUSTED_PROXY_COUNT. Any peer, then, because compose publishes only the
proxy's ports and gunicorn is reachable from inside the compose network alone."""

from scaling_ops.env import envint

forwarded_allow_ips = "*" if envint("TRUSTED_PROXY_COUNT", "0") > 0 else ""


def post_worker_init(worker):
    """Moves what loading the app created (modules, models, URL patterns: most of a worker's
    objects) out of the cycle collector's reach. A full collection otherwise walks all of them
    again and again, which profiled as a third of a bulk ingest request's CPU (issue 20). They
    live as long as the worker does, so nothing collectable is kept."""
    import gc

    gc.freeze()
