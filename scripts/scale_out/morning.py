"""The morning peak at city scale (run by scripts/bench-morning): three Närvaro instances
on one PostgreSQL database behind HAProxy, and the first hours of a school day replayed
against them open-loop, from the seeded municipality's own timetable:

- guardians: for a share of the day's pupils (--sick-share) a guardian opens the start
  page between 07:00 and 08:00 and taps "Sjuk i dag" a few seconds later;
- teachers: every lesson that starts 08:00-08:29 is opened (its teacher's start page
  first, for their first lesson of the day) within eight minutes of its start and
  reported within ten, as a browser sends the form, with a few pupils absent or late;
- principals: each school's principal opens the term dashboard between 07:45 and 08:30.

Open-loop: each person's visit starts at its time in the replay whatever the service is
doing; within a visit the next request follows the answer and the person's pause. Two
runs, on two school days:
1. the real rate: the busiest --real-minutes of the morning, on the wall clock;
2. --speedup times the real rate: the whole morning, its times and pauses divided by it.
Then the afternoon: the instances are started again with the clock at 15:29:30 of the
second day, and every notice due by 15:30 (both days' absence notices) must be sent by
15:35, each received once by the SMTP server.

Prints, for each run and each kind of request, the count, p50, p99 and the slowest, and
how late the generator was; fails (exit 1) when a request failed, an acknowledged write
is missing, a p99 is over --p99-ms at the real rate, or the outbox falls behind.
"""

import argparse
import base64
import datetime
import email
import email.policy
import glob
import hashlib
import heapq
import hmac
import http.client
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Balancer, Db, Failed, Forms, Instance, check, free_port, wait_for  # noqa: E402

SECRET = "morning-peak-secret-morning-peak-secret-0"
TZ = zoneinfo.ZoneInfo("Europe/Stockholm")
STATUS = {"p": "present", "a": "absent", "l": "late", "e": "left_early", "x": "partly_absent"}


def unit(*key):
    """A deterministic number in [0, 1) for a key (the same replay every time)."""
    h = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0 ** 64


def session_cookie(person, version):
    """The web session the person would have after signing in (HS256, audience
    narvaro-web, as src/auth/session.rs issues it): the replay starts with everyone signed
    in, as they would be by the time their lesson or their child's morning begins."""
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    now = int(time.time())
    head = b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    body = b64(json.dumps({"iss": "narvaro", "aud": "narvaro-web", "sub": str(person), "ver": version,
                           "iat": now, "exp": now + 4 * 3600, "auth": now}).encode())
    sig = hmac.new(SECRET.encode(), ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64(sig))


class Result:
    __slots__ = ("kind", "due", "sent", "done", "status", "error")

    def __init__(self, kind, due):
        self.kind, self.due = kind, due
        self.sent = self.done = self.status = self.error = None


class Visit:
    """One person's visit: a list of steps, each (kind, pause before it in replay
    seconds, function(visit) -> (method, path, form or None, expected statuses))."""

    def __init__(self, at, person, version, steps):
        self.at, self.person, self.steps = at, person, steps
        self.cookies = {"narvaro_session": session_cookie(person, version)}
        self.page = ""
        self.sent_form = None
        self.acknowledged = False
        self.what = None


class Replay:
    """Runs visits open-loop on `threads` workers: a visit's first step is due at its
    replay time, each next step its pause after the previous answer, both divided by
    `speedup`."""

    def __init__(self, port, visits, origin, speedup, threads):
        self.port, self.visits, self.origin, self.speedup = port, visits, origin, speedup
        self.heap = []
        self.cv = threading.Condition()
        self.jobs = queue.Queue()
        self.results = []
        self.lock = threading.Lock()
        self.open = 0
        self.threads = threads

    def run(self):
        start = time.monotonic() + 1.0
        self.start = start
        for n, v in enumerate(self.visits):
            heapq.heappush(self.heap, (start + (v.at - self.origin) / self.speedup, n, v, 0))
        self.open = len(self.visits)
        workers = [threading.Thread(target=self.work, daemon=True) for _ in range(self.threads)]
        for w in workers:
            w.start()
        cpu0 = time.process_time()
        while True:
            with self.cv:
                while True:
                    if self.open == 0:
                        break
                    now = time.monotonic()
                    if self.heap and self.heap[0][0] <= now:
                        due, _, v, i = heapq.heappop(self.heap)
                        self.jobs.put((due, v, i))
                        continue
                    self.cv.wait(min(0.05, self.heap[0][0] - now) if self.heap else 0.05)
                if self.open == 0:
                    break
        for _ in workers:
            self.jobs.put(None)
        for w in workers:
            w.join(10)
        return time.monotonic() - start, time.process_time() - cpu0

    def work(self):
        while True:
            job = self.jobs.get()
            if job is None:
                return
            due, v, i = job
            kind, _, make = v.steps[i]
            r = Result(kind, due)
            try:
                method, path, form, expect = make(v)
                self.send(v, r, method, path, form)
                ok = r.status in expect
                if ok and i == len(v.steps) - 1:
                    v.acknowledged = True
            except Failed as e:
                r.error = str(e)[:200]
                ok = False
            with self.lock:
                self.results.append(r)
            with self.cv:
                if ok and i + 1 < len(v.steps):
                    pause = v.steps[i + 1][1] / self.speedup
                    heapq.heappush(self.heap, (time.monotonic() + pause, id(r), v, i + 1))
                else:
                    self.open -= 1
                self.cv.notify()

    def send(self, v, r, method, path, form):
        headers = {"Cookie": "; ".join("%s=%s" % kv for kv in v.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = "http://127.0.0.1:%d" % self.port
        r.sent = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            c.request(method, path, body=body, headers=headers)
            resp = c.getresponse()
            text = resp.read()
            r.done = time.monotonic()
            r.status = resp.status
            for k, val in resp.getheaders():
                if k.lower() == "set-cookie":
                    name, _, rest = val.partition("=")
                    v.cookies[name] = rest.split(";", 1)[0]
            c.close()
            if resp.status == 200 and method == "GET":
                v.page = text.decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as e:
            r.done = time.monotonic()
            r.error = type(e).__name__


def csrf(v):
    m = re.search(r'name="_csrf" value="([^"]*)"', v.page)
    if not m:
        raise Failed("no CSRF field in the page before the form")
    return m.group(1)


def roll_call_form(lesson, day):
    """The teacher's submission: the form as the page gives it, with about 2 % of the
    pupils marked absent and 2 % late 5 minutes (chosen from the lesson and the pupil)."""
    def make(v):
        p = Forms()
        p.feed(v.page)
        form = next((f for f in p.forms if f["action"] == "/lessons/%d" % lesson), None)
        if form is None:
            raise Failed("no roll-call form on the page of lesson %d" % lesson)
        fields = [kv for kv in form["fields"] if kv[0] not in ("action", "correction_reason")]
        out, sent = [], {}
        pupils = [k for k, _ in fields if re.fullmatch(r"s\d+", k)]
        choice = {}
        for k in pupils:
            u = unit("mark", day, lesson, k)
            if u < 0.02:
                choice[k] = "a"
            elif u < 0.04:
                choice[k] = "l"
        for k, val in fields:
            if k in choice:
                val = choice[k]
            if re.fullmatch(r"m\d+", k) and choice.get("s" + k[1:]) == "l":
                continue
            out.append((k, val))
            if re.fullmatch(r"s\d+", k):
                sent[int(k[1:])] = val
        for k, val in choice.items():
            if val == "l":
                out.append(("m" + k[1:], "5"))
        out.append(("action", "report"))
        v.sent_form = sent
        return "POST", "/lessons/%d" % lesson, out, (303,)
    return make


def schedule(db, day, sick_share):
    """The visits of the morning of `day`, from the database: (teachers, guardians,
    principals), every time in seconds since midnight."""
    d = day.isoformat()
    lessons = db.rows("""
        SELECT l.id, extract(epoch FROM l.starts_at)::int,
               coalesce(l.substitute_teacher_id,
                        (SELECT min(at.teacher_id) FROM activity_teachers at WHERE at.activity_id = l.activity_id))
        FROM lessons l WHERE l.lesson_date = DATE '%s' AND NOT l.cancelled
          AND l.starts_at >= TIME '08:00' AND l.starts_at < TIME '08:30'
          AND NOT EXISTS (SELECT 1 FROM lesson_reports r WHERE r.lesson_id = l.id)
        ORDER BY 2, 1""" % d)
    check(lessons, "no lessons start 08:00-08:29 on %s" % d)
    # a guardian with an address for a share of the pupils who have a lesson that day
    sick = db.rows("""
        SELECT DISTINCT ON (gm.pupil_id) gm.pupil_id, g.guardian_id FROM lessons l
        JOIN activity_groups ag ON ag.activity_id = l.activity_id
        JOIN group_memberships gm ON gm.group_id = ag.group_id
          AND gm.start_date <= l.lesson_date AND (gm.end_date IS NULL OR gm.end_date >= l.lesson_date)
        JOIN guardianships g ON g.pupil_id = gm.pupil_id
        JOIN people gp ON gp.id = g.guardian_id
        WHERE l.lesson_date = DATE '%s' AND NOT l.cancelled AND gp.email IS NOT NULL
          AND ('x' || substr(md5(gm.pupil_id::text || '%s'), 1, 8))::bit(32)::bigint < %d
        ORDER BY gm.pupil_id, g.guardian_id""" % (d, d, int(sick_share * 2 ** 32)))
    principals = db.rows("""
        SELECT DISTINCT ON (d.organisation_id) d.organisation_id, d.person_id FROM duties d
        JOIN organisations o ON o.id = d.organisation_id AND o.org_type = 'school'
        WHERE d.role = 'principal' AND d.start_date <= DATE '%s' AND (d.end_date IS NULL OR d.end_date >= DATE '%s')
        ORDER BY d.organisation_id, d.person_id""" % (d, d))
    people = {int(t) for _, _, t in lessons} | {int(g) for _, g in sick} | {int(p) for _, p in principals}
    versions = {}
    ids = sorted(people)
    for k in range(0, len(ids), 5000):
        part = ",".join(str(i) for i in ids[k:k + 5000])
        for pid, ver in db.rows("SELECT id, token_version FROM people WHERE id IN (%s)" % part):
            versions[int(pid)] = int(ver)
    return lessons, sick, principals, versions


def visits_for(db, day, sick_share):
    lessons, sick, principals, versions = schedule(db, day, sick_share)
    visits, first_of = [], set()
    for lesson, starts, teacher in lessons:
        lesson, starts, teacher = int(lesson), int(starts), int(teacher)
        opened = starts + 480 * unit("open", day, lesson)
        # reported 20 s to 3 min after it is opened, and within ten minutes of the start
        think = min(20 + 160 * unit("think", day, lesson), starts + 590 - opened)
        steps = []
        if teacher not in first_of:
            first_of.add(teacher)
            opened -= 5
            steps.append(("teacher start page", 0, lambda v: ("GET", "/", None, (200,))))
        steps.append(("roll-call page", 5 if steps else 0,
                      lambda v, lesson=lesson: ("GET", "/lessons/%d" % lesson, None, (200,))))
        steps.append(("roll-call submit", think, roll_call_form(lesson, day)))
        v = Visit(opened, teacher, versions[teacher], steps)
        v.what = ("lesson", lesson)
        visits.append(v)
    for pupil, guardian in sick:
        pupil, guardian = int(pupil), int(guardian)
        u = (unit("sick", day, pupil) + unit("sick2", day, pupil)) / 2  # most around 07:30
        steps = [
            ("guardian start page", 0, lambda v: ("GET", "/", None, (200,))),
            ("sick today", 3 + 7 * unit("tap", day, pupil),
             lambda v, pupil=pupil: ("POST", "/pupils/%d/absence-reports" % pupil,
                                     [("_csrf", csrf(v)), ("quick", "sick_today")], (303,))),
        ]
        v = Visit(7 * 3600 + 3600 * u, guardian, versions[guardian], steps)
        v.what = ("sick", pupil)
        visits.append(v)
    for school, principal in principals:
        school, principal = int(school), int(principal)
        at = 7 * 3600 + 2700 + 2700 * unit("dashboard", day, school)
        steps = [("dashboard", 0, lambda v, school=school: (
            "GET", "/statistics?school=%d&period=term" % school, None, (200,)))]
        visits.append(Visit(at, principal, versions[principal], steps))
    visits.sort(key=lambda v: v.at)
    return visits


def busiest(visits, minutes):
    """The visits that start in the busiest `minutes` of the morning (by requests)."""
    per_min = {}
    for v in visits:
        per_min[int(v.at // 60)] = per_min.get(int(v.at // 60), 0) + len(v.steps)
    first, last = min(per_min), max(per_min)
    best, best_n = first, -1
    for m in range(first, last + 1):
        n = sum(per_min.get(k, 0) for k in range(m, m + minutes))
        if n > best_n:
            best, best_n = m, n
    lead = 180
    return [v for v in visits if best * 60 - lead <= v.at < (best + minutes) * 60], best * 60 - lead


def hhmm(secs):
    return "%02d:%02d" % (secs // 3600, secs % 3600 // 60)


def pct(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def report(results, took, cpu, p99_budget_ms, strict):
    kinds = sorted({r.kind for r in results})
    peak = {}
    for r in results:
        if r.sent is not None:
            peak[int(r.sent)] = peak.get(int(r.sent), 0) + 1
    print("   %d requests in %.0f s (%.1f/s on average, %d in the busiest second); the generator used %.0f s of CPU"
          % (len(results), took, len(results) / took, max(peak.values(), default=0), cpu))
    late = [r.sent - r.due for r in results if r.sent is not None]
    print("   the generator sent requests at most %.0f ms after their time (p99 %.0f ms)"
          % (1000 * max(late, default=0), 1000 * pct(late, 99)))
    print("   %-22s %7s %8s %8s %8s %8s" % ("", "count", "p50 ms", "p99 ms", "max ms", "failed"))
    over = []
    for k in kinds:
        rs = [r for r in results if r.kind == k]
        ms = [1000 * (r.done - r.sent) for r in rs if r.done is not None and r.sent is not None]
        bad = [r for r in rs if r.error is not None or r.status not in (200, 303)]
        print("   %-22s %7d %8.1f %8.1f %8.1f %8d" % (k, len(rs), pct(ms, 50), pct(ms, 99), max(ms, default=0), len(bad)))
        if strict and pct(ms, 99) > p99_budget_ms:
            over.append("%s p99 %.1f ms" % (k, pct(ms, 99)))
    problems = []
    fails = [r for r in results if r.error is not None or r.status not in (200, 303)]
    if fails:
        kinds_failed = {}
        for r in fails:
            key = "%s %s" % (r.kind, r.status if r.status is not None else r.error)
            kinds_failed[key] = kinds_failed.get(key, 0) + 1
        problems.append("requests failed: %s" % ", ".join("%s x%d" % kv for kv in sorted(kinds_failed.items())))
    if over:
        problems.append("over the %d ms budget at the real rate: %s" % (p99_budget_ms, "; ".join(over)))
    for p in problems:
        print("   PROBLEM: %s" % p)
    return problems


def lost(db, visits, day):
    """Every acknowledged roll call and "Sjuk i dag", looked for in the database."""
    missing = []
    done = [v for v in visits if v.acknowledged and v.what and v.what[0] == "lesson"]
    for k in range(0, len(done), 2000):
        part = done[k:k + 2000]
        stored = {}
        ids = ",".join(str(v.what[1]) for v in part)
        for lesson, pupil, status in db.rows(
                "SELECT lesson_id, pupil_id, status FROM attendance_marks WHERE lesson_id IN (%s)" % ids):
            stored[(int(lesson), int(pupil))] = status
        reported = {int(r[0]) for r in db.rows("SELECT lesson_id FROM lesson_reports WHERE lesson_id IN (%s)" % ids)}
        for v in part:
            if v.what[1] not in reported:
                missing.append("lesson %d was reported and has no report" % v.what[1])
            for pupil, code in v.sent_form.items():
                # present is what a reported lesson's pupil without a mark is
                got = stored.get((v.what[1], pupil), "present")
                if got != STATUS[code]:
                    missing.append("lesson %d pupil %d: sent %s, stored %s" % (v.what[1], pupil, STATUS[code], got))
    sick = [v.what[1] for v in visits if v.acknowledged and v.what and v.what[0] == "sick"]
    for k in range(0, len(sick), 5000):
        part = sick[k:k + 5000]
        noon = datetime.datetime.combine(day, datetime.time(12), TZ).astimezone(datetime.timezone.utc)
        have = {int(r[0]) for r in db.rows("""
            SELECT pupil_id FROM absence_reports WHERE pupil_id IN (%s) AND cancelled_at IS NULL
              AND starts_at <= TIMESTAMP '%s' AND ends_at > TIMESTAMP '%s'"""
            % (",".join(map(str, part)), noon.strftime("%Y-%m-%d %H:%M"), noon.strftime("%Y-%m-%d %H:%M")))}
        missing += ["pupil %d was reported sick and has no report" % p for p in part if p not in have]
    return missing, len(done), len(sick)


class Fleet:
    """The three instances and the balancer, started with the school day's clock at a
    moment of the replay."""

    def __init__(self, binary, env, work, lb_port):
        self.binary, self.env, self.work, self.lb_port = binary, env, work, lb_port
        self.instances, self.lb, self.offset = [], None, 0.0

    def start(self, moment):
        self.stop()
        env = dict(self.env, NARVARO_CLOCK_START=moment.isoformat())
        self.offset = moment.timestamp() - time.time()
        self.instances = [Instance("n%d" % k, self.binary, env, self.work) for k in (1, 2, 3)]
        for i in self.instances:
            i.start()
        self.lb = Balancer(self.work, self.instances, self.lb_port)

    def now_utc(self):
        """What the instances' clock reads now, as the database stores instants."""
        return datetime.datetime.fromtimestamp(time.time() + self.offset, datetime.timezone.utc)

    def stop(self):
        if self.lb:
            self.lb.stop()
            self.lb = None
        for i in self.instances:
            if i.proc and i.proc.poll() is None:
                i.proc.terminate()
                i.proc.wait(30)
        self.instances = []


def utc_text(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def morning(db, fleet, day, a, real):
    visits = visits_for(db, day, a.sick_share)
    counts = {}
    for v in visits:
        kind = v.what[0] if v.what else "dashboard"
        counts[kind] = counts.get(kind, 0) + 1
    whole = "%d lessons, %d sick reports, %d dashboards in the whole morning" % (
        counts.get("lesson", 0), counts.get("sick", 0), counts.get("dashboard", 0))
    if not real:
        print("== %s, %g times the real rate: 07:00-08:40 in %.0f minutes (%s)"
              % (day, a.speedup, 100 / a.speedup, whole))
        return replay(db, fleet, day, a, visits, 7 * 3600, a.speedup, False)
    problems = []
    # the busiest minutes of the morning (the teachers'), then the guardians' busiest
    # minutes: each with the visits begun in the three minutes before, whose later steps
    # fall in them
    for who, pool in (("the morning", visits), ("the guardians", [v for v in visits if v.what and v.what[0] == "sick"])):
        chosen, first = busiest(pool, a.real_minutes)
        print("== %s, the real rate: the busiest %d minutes of %s, %s-%s, and the visits begun in the 3 minutes "
              "before (%s)" % (day, a.real_minutes, who, hhmm(first + 180), hhmm(first + 180 + 60 * a.real_minutes),
                               whole))
        problems += replay(db, fleet, day, a, chosen, first, 1.0, True)
    return problems


def replay(db, fleet, day, a, visits, first, speedup, real):
    # the instances' clock reads the replay's first moment when the replay starts
    moment = datetime.datetime.combine(day, datetime.time(0), TZ) + datetime.timedelta(seconds=first)
    fleet.start(moment - datetime.timedelta(seconds=1))
    run = Replay(fleet.lb_port, visits, first, speedup, a.threads)
    took, cpu = run.run()
    problems = report(run.results, took, cpu, a.p99_ms, real)
    missing, lessons, sick = lost(db, visits, day)
    if missing:
        problems.append("acknowledged writes lost (%d): %s" % (len(missing), "; ".join(missing[:10])))
        print("   PROBLEM: %s" % problems[-1])
    else:
        print("   nothing lost: %d reported lessons' marks and %d sick reports found as acknowledged" % (lessons, sick))
    # the confirmations the morning's reports caused are due at once
    now = utc_text(fleet.now_utc())
    wait_for(lambda: int(db.one("SELECT count(*) FROM outbox WHERE status = 'pending' AND due_at <= TIMESTAMP '%s'"
                                % now)) == 0, 120, "the morning's confirmations to be sent")
    lag = db.one("SELECT coalesce(max(extract(epoch FROM sent_at - due_at)), 0) FROM outbox WHERE status = 'sent' "
                 "AND due_at >= TIMESTAMP '%s'" % utc_text(moment))
    print("   the outbox kept up: every notice due this morning sent, at most %.0f s after it was due" % float(lag))
    return problems


def afternoon(db, fleet, day, mail, budget_s, sent_before):
    at = datetime.datetime.combine(day, datetime.time(15, 30), TZ)
    due = utc_text(at)
    pending = int(db.one("SELECT count(*) FROM outbox WHERE status = 'pending' AND due_at <= TIMESTAMP '%s'" % due))
    print("== %s 15:30: %d notices due (both days' unexplained absence)" % (day, pending))
    check(pending > 0, "the mornings left no notice due at 15:30")
    fleet.start(at - datetime.timedelta(seconds=30))
    zero = time.time() + 30
    wait_for(lambda: int(db.one("SELECT count(*) FROM outbox WHERE status = 'pending' AND due_at <= TIMESTAMP '%s'"
                                % due)) == 0, 30 + budget_s + 60, "the 15:30 notices to be sent")
    took = time.time() - zero
    # the notices this run sent (the seed's are marked sent without an e-mail)
    sent = int(db.one("SELECT count(*) FROM outbox WHERE status = 'sent'")) - sent_before
    wait_for(lambda: len(glob.glob(os.path.join(mail, "*.eml"))) >= sent, 60, "the SMTP server to have every message")
    ids = []
    for f in glob.glob(os.path.join(mail, "*.eml")):
        msg = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
        ids.append(msg["Message-ID"])
    check(len(set(ids)) == sent == len(ids), "%d notices sent, %d messages received (%d distinct)"
          % (sent, len(ids), len(set(ids))))
    print("   every notice due by 15:30 sent %.0f s after 15:30 (budget %d s); %d messages received, each once"
          % (took, budget_s, len(ids)))
    check(took <= budget_s, "the 15:30 notices took %.0f s" % took)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--smtp-python", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--day", required=True, help="the first replayed school day (YYYY-MM-DD); the next is the second")
    ap.add_argument("--real-minutes", type=int, default=10)
    ap.add_argument("--speedup", type=float, default=10.0)
    ap.add_argument("--sick-share", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=128)
    ap.add_argument("--p99-ms", type=int, default=50)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    db = Db(a.database_url)
    day1 = datetime.date.fromisoformat(a.day)
    day2 = day1 + datetime.timedelta(days=1)

    smtp_port = free_port()
    mail = os.path.join(a.work, "mail")
    smtp = subprocess.Popen([a.smtp_python, os.path.join(root, "tests", "smtp_server.py"),
                             "--port", str(smtp_port), "--dir", mail], stdout=subprocess.PIPE, text=True)
    check(smtp.stdout.readline().strip() == "ready", "the SMTP server did not start")
    lb_port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": a.database_url,
        "NARVARO_JWT_SECRET": SECRET,
        "NARVARO_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port,
        "NARVARO_MAIL_FROM": "narvaro@skola.example.com",
        "NARVARO_DRAIN_SECONDS": "1",
        "NARVARO_TRUSTED_PROXIES": "127.0.0.1",
        "NARVARO_BASE_URL": "http://127.0.0.1:%d" % lb_port,
        "RUST_LOG": "error",
    }
    fleet = Fleet(a.binary, env, a.work, lb_port)
    problems = []
    sent_before = int(db.one("SELECT count(*) FROM outbox WHERE status = 'sent'"))
    try:
        if a.real_minutes > 0:
            problems += morning(db, fleet, day1, a, real=True)
        problems += morning(db, fleet, day2, a, real=False)
        afternoon(db, fleet, day2, mail, 300, sent_before)
    finally:
        fleet.stop()
        smtp.terminate()
        smtp.wait(10)
    check(not problems, "; ".join(problems))
    print("morning: passed")


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        print("morning: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
