"""The firmware's log: one line per event on the REPL (stdout), `[  SECONDS.MS] LEVEL: TEXT`,
for the events at or above config.json's `log` level.

    log = Log("info")
    log.info("up")              # [     0.012] info: up
"""

import time

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class Log:
    def __init__(self, level="info", clock=time.ticks_ms, out=print):
        if level not in LEVELS:
            raise ValueError("log level %r is not one of %s" % (
                level, ", ".join(sorted(LEVELS, key=LEVELS.get))))
        self.level = LEVELS[level]
        self.clock = clock
        self.out = out
        self.start = clock()

    def say(self, level, text):
        if LEVELS[level] >= self.level:
            ms = time.ticks_diff(self.clock(), self.start)
            self.out("[%6d.%03d] %s: %s" % (ms // 1000, ms % 1000, level, text))

    def debug(self, text):
        self.say("debug", text)

    def info(self, text):
        self.say("info", text)

    def warning(self, text):
        self.say("warning", text)

    def error(self, text):
        self.say("error", text)
