#!/usr/bin/python3
"""Runs COMMAND as a child subreaper and waits for all of its descendants.

Processes orphaned anywhere below it are re-parented to it rather than to
PID 1, and it reaps them; it exits only once no descendant is left, with
COMMAND's exit status (128+N if a signal N ended it). Tests use it to kill
a process tree without leaving zombies to a PID 1 that may reap late.

usage: subreaper.py COMMAND [ARG...]
"""

import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("subreaper: prctl: " + os.strerror(ctypes.get_errno()))
    child = os.fork()
    if child == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    status = 1
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        if pid == child:
            code = os.waitstatus_to_exitcode(wait_status)
            status = code if code >= 0 else 128 - code
    sys.exit(status)


if __name__ == "__main__":
    main()
