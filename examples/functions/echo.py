#!/usr/bin/env python3
# An exec function in Python: `autonomic fn deploy echo examples/functions/echo.py`.
# Protocol: one JSON request a line on stdin {"id":..,"event":..,"deadlineMs":..};
# one JSON answer a line on stdout {"id":..,"response":..} or {"id":..,"error":".."}; stderr is the log.
import json
import sys
import time

for line in sys.stdin:
    request = json.loads(line)
    started = time.perf_counter()
    try:
        event = request.get("event")
        print(f"echoing {json.dumps(event)[:80]}", file=sys.stderr, flush=True)
        answer = {"id": request["id"], "response": {"echo": event}}
    except Exception as e:  # a handler error is an answer, not a crash
        answer = {"id": request["id"], "error": f"{type(e).__name__}: {e}"}
    answer["handlerMs"] = (time.perf_counter() - started) * 1000
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
