"""The lab's multiprocessing app (lab 4, step 6 B), rewritten from its description.

GET /multiprocessing draws two random 500 x 500 integer matrices (0..99) with
NumPy and adds them in 4 processes started for the request (one band of rows
each, sent back through a queue), then answers the lab's JSON. Served by
Gunicorn (`gunicorn -w 1 app_multiprocessing:app`).
"""

import multiprocessing as mp
import time

import numpy as np
from flask import Flask, jsonify

app = Flask(__name__)

N = 500
PROCESSES = 4


def add_band(a, b, first, last, queue):
    queue.put((first, a[first:last] + b[first:last]))


def add_in_processes(a, b, count):
    """a + b, each band of rows added by a process of its own."""
    out = np.zeros_like(a)
    rows = a.shape[0]
    step = rows // count
    queue = mp.Queue()
    procs = []
    for i in range(count):
        first = i * step
        last = rows if i == count - 1 else first + step
        proc = mp.Process(target=add_band, args=(a, b, first, last, queue))
        procs.append(proc)
        proc.start()
    # read the bands before joining: a child blocks on exit until its queued band is read
    for _ in procs:
        first, band = queue.get()
        out[first:first + band.shape[0]] = band
    for proc in procs:
        proc.join()
    return out


@app.route("/multiprocessing")
def processing_add():
    a = np.random.randint(0, 100, (N, N))
    b = np.random.randint(0, 100, (N, N))
    t0 = time.time()
    c = add_in_processes(a, b, PROCESSES)
    t1 = time.time()
    return jsonify({
        "status": "ok",
        "method": "Multiprocessing",
        "execution_time_sec": round(t1 - t0, 4),
        "sample": c[0, :10].tolist(),
    })


@app.route("/")
def index():
    return "Matrix Addition (Multiprocessing) API"
