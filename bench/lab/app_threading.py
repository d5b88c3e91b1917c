"""The lab's multithreading app (lab 4, step 6 A), rewritten from its description.

GET /threading draws two random 500 x 500 integer matrices (0..99) with NumPy,
adds them with 4 threads (one band of rows each), and answers the lab's JSON.
Served by Gunicorn (`gunicorn -w 1 --threads 4 app_threading:app`); the
benchmark (bench/http/lab-baseline.ts) measures it with the same load
generator and settings as wasmatrix, in the same run.
"""

import threading
import time

import numpy as np
from flask import Flask, jsonify

app = Flask(__name__)

N = 500
THREADS = 4


def add_in_bands(a, b, bands):
    """a + b, each band of rows added by its own thread."""
    out = np.zeros_like(a)
    rows = a.shape[0]
    step = rows // bands

    def add_rows(first, last):
        out[first:last] = a[first:last] + b[first:last]

    workers = []
    for i in range(bands):
        first = i * step
        last = rows if i == bands - 1 else first + step
        worker = threading.Thread(target=add_rows, args=(first, last))
        workers.append(worker)
        worker.start()
    for worker in workers:
        worker.join()
    return out


@app.route("/threading")
def threading_add():
    a = np.random.randint(0, 100, (N, N))
    b = np.random.randint(0, 100, (N, N))
    t0 = time.time()
    c = add_in_bands(a, b, THREADS)
    t1 = time.time()
    return jsonify({
        "status": "ok",
        "method": "Multithreading",
        "execution_time_sec": round(t1 - t0, 4),
        "sample": c[0, :10].tolist(),
    })


@app.route("/")
def index():
    return "Matrix Addition (Multithreading) API"
