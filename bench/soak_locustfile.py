"""The readers of bench/soak.py's load: locust users cycling, closed-loop, over the pages.

bench/soak.py runs this file with ``locust --headless`` and passes everything in the
environment: SOAK_HOSTS (JSON, instance name to base URL, "A" and "B"), SOAK_PAGES (JSON,
page name to path), SOAK_HEADERS (JSON, sent with every request), SOAK_TIMEOUT (s, to connect and
per read), SOAK_CLIENTS (users per instance) and SOAK_RECORDS (the file to write).

SOAK_RECORDS starts with a line {"load started": seconds since the epoch}, written before the
first user starts; then every request becomes one JSON line: the instance, the page, when it
was sent (seconds since the epoch), how long it took (s), the status (0: no answer), the
exception's name when there was no answer, and the X-Cache header. soak.py reads them when
the load ends and makes every figure and verdict from them; locust's own statistics are not
used.
"""

import itertools
import json
import os
import time

from locust import FastHttpUser, constant, events, task

HOSTS = json.loads(os.environ["SOAK_HOSTS"])
PAGES = json.loads(os.environ["SOAK_PAGES"])
PAGE_NAMES = list(PAGES)
HEADERS = json.loads(os.environ["SOAK_HEADERS"])
TIMEOUT = float(os.environ["SOAK_TIMEOUT"])
CLIENTS = int(os.environ["SOAK_CLIENTS"])

records = open(os.environ["SOAK_RECORDS"], "w", encoding="utf-8")  # closed when locust quits


@events.test_start.add_listener
def mark_start(**_):
    records.write(json.dumps({"load started": time.time()}) + "\n")
    records.flush()  # soak.py waits for this line to start its clock


@events.request.add_listener
def record(name, response_time, response, exception, start_time, context, **_):
    status = (response.status_code or 0) if response is not None else 0
    line = {
        "instance": context["instance"],
        "page": name,
        "start": start_time,
        "duration": response_time / 1000,
        "status": status,
        "error": type(exception).__name__ if exception and not status else "",
        "cache": (response.headers or {}).get("X-Cache", "") if status else "",
    }
    records.write(json.dumps(line) + "\n")


@events.quitting.add_listener
def close_records(**_):
    records.close()


class Reader(FastHttpUser):
    """A reader bound to one instance, asking for the pages in turn without pausing."""

    abstract = True
    instance = ""
    fixed_count = CLIENTS
    wait_time = constant(0)
    network_timeout = connection_timeout = TIMEOUT
    numbers = itertools.count()

    def __init__(self, environment):
        super().__init__(environment)
        self.turn = next(self.numbers)  # readers start on different pages

    def context(self):
        return {"instance": self.instance}

    @task
    def next_page(self):
        name = PAGE_NAMES[self.turn % len(PAGE_NAMES)]
        self.turn += 1
        self.client.get(PAGES[name], headers=HEADERS, name=name)


class ReaderOfA(Reader):
    instance = "A"
    host = HOSTS["A"]


class ReaderOfB(Reader):
    instance = "B"
    host = HOSTS["B"]
