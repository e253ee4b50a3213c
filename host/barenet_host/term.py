"""Tables and progress bars for the commands' output, from rich (issue 10 item 9: a
well-kept library, not hand-written drawing). On a terminal a table has rules and a
progress bar moves; when the output is a pipe or a file the same table is plain aligned
text (no colour, no box characters) and progress is a plain line per step, so that scripts
and tests read it.
"""

import io

from rich import box
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, \
    TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

# A pipe has no width: wide enough that no table is wrapped, while rich pads nothing.
_PLAIN_WIDTH = 400


def is_terminal(out):
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def console(out):
    if is_terminal(out):
        return Console(file=out)
    return Console(file=out, width=_PLAIN_WIDTH, color_system=None, force_terminal=False,
                   highlight=False, emoji=False)


def print_table(out, title, headers, rows):
    """headers: column names; rows: lists of str. Numbers (all-digit columns) align right."""
    tty = is_terminal(out)
    t = Table(title=title if tty else None, box=box.SIMPLE_HEAD if tty else None,
              show_edge=False, pad_edge=False, highlight=False)
    for n, h in enumerate(headers):
        numeric = rows and all(r[n].isdigit() for r in rows)
        t.add_column(h, justify="right" if numeric else "left", no_wrap=True)
    for r in rows:
        t.add_row(*r)
    if tty:
        if rows:
            console(out).print(t)
        else:
            out.write(title + ": none\n")
        return
    # rich pads the last column; a pipe gets the lines without trailing blanks
    buf = io.StringIO()
    if rows:
        console(buf).print(t)
    out.write(title + (":\n" if rows else ": none\n"))
    out.writelines(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


class Transfer:
    """Progress of one transfer of `total` bytes: a rich bar on a terminal, else a line
    at each quarter. `with Transfer(out, "send", total) as p: p.advance(n)`."""

    def __init__(self, out, label, total):
        self.out = out
        self.label = label
        self.total = total
        self.done = 0
        self._next_line = total // 4
        self._bar = None
        if is_terminal(out):
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                                 console=Console(file=out), transient=False)
            self._task = self._bar.add_task(label, total=total)

    def __enter__(self):
        if self._bar is not None:
            self._bar.start()
        return self

    def advance(self, n):
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, advance=n)
        elif self.done >= self._next_line and self.done < self.total:
            self.out.write("%s: %d of %d bytes\n" % (self.label, self.done, self.total))
            self.out.flush()
            self._next_line += max(1, self.total // 4)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
