"""A service's threads (SQLite's connections, each a thread) allocate from one malloc arena."""

from __future__ import annotations

import subprocess
import sys

# Six threads alive at once, each with a SQLite connection that has allocated; then the number
# of arenas glibc made (malloc_info prints one <heap> for each).
SCRIPT = """
import ctypes, os, sqlite3, sys, tempfile, threading
from jejaring.shared.web.serve import one_malloc_arena
if sys.argv[1] == "one":
    assert one_malloc_arena()
together = threading.Barrier(6)
def work():
    db = sqlite3.connect(":memory:")
    db.execute("create table t (x)")
    db.executemany("insert into t values (?)", [(str(i) * 20,) for i in range(2000)])
    together.wait()
    db.close()
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "malloc.xml")
    stream = ctypes.c_void_p(libc.fopen(path.encode(), b"w"))
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(open(path).read().count("<heap nr="))
"""


def arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_a_service_s_threads_share_the_main_arena() -> None:
    assert arenas("default") > 1  # glibc's own: an arena a thread
    assert arenas("one") == 1
