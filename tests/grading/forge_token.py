"""Learner code that forges the grader's reply, read as source by the hostile tests.

A learner's code can find the token of the request in flight (it lives in the
child's memory) and write its own answer with it: the grader must still bound
what it reads. ``forge(payload)`` writes ``payload`` as the answer to the
current request.
"""
import os
import sys


def forge(payload):
    f = sys._getframe()
    while f is not None and f.f_code.co_name != "serve":
        f = f.f_back
    os.write(f.f_locals["channel"].wfd, f.f_locals["token"].encode() + b" " + payload + b"\n")
