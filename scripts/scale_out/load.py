"""The scale-out scenario's load generator: teachers and guardians working through the
load balancer at the same time, each on a keep-alive connection of its own, every request
and its answer written down so that the scenario can check afterwards that no write the
service acknowledged was lost.

- A teacher (`Teacher`) corrects one pupil's mark on one of their past lessons over and
  over through the JSON API (PUT /api/v1/lessons/{id}/roll-call): the pupil is late 1, 2,
  3 ... minutes, a new value each time, so each acknowledged PUT is a write that can be
  looked for in the database.
- A guardian (`Guardian`) reports their child absent for an hour of a coming school day
  (POST /api/v1/absence-reports) and cancels the report again (DELETE), so each
  acknowledged request is a report that exists, or one that is cancelled.

Standard library only: it runs under the machine's Python without a virtual environment.
"""

import http.client
import json
import threading
import time


class Outcome:
    """One request: when it started and ended (time.monotonic), what it was, and how it
    ended: an HTTP status, or the exception's name when no answer came."""

    __slots__ = ("start", "end", "what", "status", "error", "value", "detail")

    def __init__(self, start, what, value):
        self.start = start
        self.end = None
        self.what = what
        self.status = None
        self.error = None
        self.value = value
        self.detail = None

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300


class Worker(threading.Thread):
    def __init__(self, host, port, token, stop):
        super().__init__(daemon=True)
        self.host, self.port, self.token, self.stop = host, port, token, stop
        self.conn = None
        self.log = []
        self.paused = threading.Event()

    def request(self, method, path, what, value, body=None):
        """Sends one request on the worker's connection (a new one after a failure) and
        writes down its outcome. Returns (outcome, parsed JSON body or None)."""
        o = Outcome(time.monotonic(), what, value)
        self.log.append(o)
        headers = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            raw = r.read()
            o.status = r.status
            if not o.ok:
                o.detail = raw[:300].decode("utf-8", "replace")
            if r.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            parsed = json.loads(raw) if raw and r.getheader("Content-Type", "").endswith("json") else None
            return o, parsed
        except (OSError, http.client.HTTPException, ValueError) as e:
            o.error = type(e).__name__
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return o, None
        finally:
            o.end = time.monotonic()

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            self.step(n)


class Teacher(Worker):
    """Corrects one pupil's lateness on one lesson, a new number of minutes each time."""

    def __init__(self, host, port, token, stop, lesson, pupil):
        super().__init__(host, port, token, stop)
        self.lesson, self.pupil = lesson, pupil

    def step(self, n):
        minutes = n % 40 + 1
        body = {
            "marks": [{"pupil_id": self.pupil, "status": "late", "minutes": minutes}],
            "correction_reason": "scale-out",
        }
        self.request("PUT", "/api/v1/lessons/%d/roll-call" % self.lesson, "mark", minutes, body)


class Guardian(Worker):
    """Reports an hour of a coming day and cancels it again; `slots` are the
    (from, to) local date-times it cycles through."""

    def __init__(self, host, port, token, stop, pupil, slots):
        super().__init__(host, port, token, stop)
        self.pupil, self.slots = pupil, slots

    def step(self, n):
        start, end = self.slots[n % len(self.slots)]
        body = {"pupil_id": self.pupil, "from": start, "to": end, "kind": "sick"}
        o, parsed = self.request("POST", "/api/v1/absence-reports", "report", None, body)
        if o.status == 201 and parsed and "id" in parsed:
            o.value = parsed["id"]
            self.request("DELETE", "/api/v1/absence-reports/%d" % parsed["id"], "cancel", parsed["id"])
        elif o.status == 409 and parsed and parsed.get("code") == "overlapping_report":
            # an earlier request for this slot was carried out but its answer was lost
            # (the killed instance, or HAProxy sending it again elsewhere): the report
            # stands. The guardian finds it and cancels it, so the next round of slots
            # does not meet it again.
            self.cancel_standing(start)

    def cancel_standing(self, start):
        day = start[:10]
        o, parsed = self.request(
            "GET", "/api/v1/pupils/%d/absences?from=%s&to=%s" % (self.pupil, day, day), "lookup", None)
        for r in (parsed or {}).get("reports", []):
            if not r.get("cancelled") and r.get("from", "")[:16] == start[:16]:
                self.request("DELETE", "/api/v1/absence-reports/%d" % r["id"], "cancel", r["id"])


def failures(workers, since=None, until=None):
    """The requests that did not get a 2xx answer, started in [since, until)."""
    out = []
    for w in workers:
        for o in w.log:
            if o.end is None:
                continue
            if since is not None and o.start < since:
                continue
            if until is not None and o.start >= until:
                continue
            if not o.ok:
                out.append(o)
    return out


def count(workers, since=None, until=None):
    return sum(
        1
        for w in workers
        for o in w.log
        if o.end is not None and (since is None or o.start >= since) and (until is None or o.start < until)
    )
